"""Market state: quotes, tape ring buffers, bars, conflation. Pure, no I/O."""
