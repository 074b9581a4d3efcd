"""Wire layer: event Structs, decoder, websocket session, REST client. No Textual."""
