/* Experiment (see columns_probe.py): the probe's apply loop, compiled.
 *
 * Not part of ticktape: built on demand by columns_probe.py to measure what a
 * compiled loop over per-symbol columns would give. It mirrors apply_py()
 * line for line, and the probe checks both leave identical columns.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <string.h>

enum { BID, ASK, BSZ, ASZ, LAST, LSZ, DH, DL, FH, FL, FC, FV, FPV, ND };
enum { QMS, LMS, FS, FTX, VER, UPD, TSEQ, ASEQ, NQ };
#define TCAP 256
#define ACAP 120
#define GCAP 10000

#pragma pack(push, 1)
typedef struct { long long t; double p, s; unsigned char code; int x; unsigned int cc; } TRec; /* <qddBiI */
typedef struct { long long s; double o, h, l, c, v, vw; unsigned char f; } ARec;           /* <qddddddB */
#pragma pack(pop)

typedef struct { PyTypeObject *tp; Py_ssize_t off[9]; } Fields;
static Fields FQ, FT, FA;
static PyObject *cur; /* the Columns whose buffers are held below */
static Py_buffer bufs[ND + NQ + 4];
static int nbufs;
static double *D[ND];
static long long *Q[NQ];
static signed char *TICK;
static char *TR, *AR;
static int *GIDX;

static int fields(PyObject *tp, Fields *f, const char *const *names) {
    if (f->tp == (PyTypeObject *)tp) return 0;
    for (int i = 0; names[i]; i++) {
        PyObject *d = PyObject_GetAttrString(tp, names[i]);
        if (!d) return -1;
        if (!Py_IS_TYPE(d, &PyMemberDescr_Type)) {
            Py_DECREF(d);
            PyErr_Format(PyExc_TypeError, "%s is not a struct field", names[i]);
            return -1;
        }
        f->off[i] = ((PyMemberDescrObject *)d)->d_member->offset;
        Py_DECREF(d);
    }
    f->tp = (PyTypeObject *)tp;
    return 0;
}
#define F(ev, f, k) (*(PyObject **)((char *)(ev) + (f).off[k]))

static void release(void) {
    for (int i = 0; i < nbufs; i++) PyBuffer_Release(&bufs[i]);
    nbufs = 0;
    Py_CLEAR(cur);
}

static void *grab(PyObject *obj) {
    if (PyObject_GetBuffer(obj, &bufs[nbufs], PyBUF_WRITABLE) < 0) return NULL;
    return bufs[nbufs++].buf;
}

static int attach(PyObject *cols) {
    if (cols == cur) return 0;
    release();
    PyObject *d = PyObject_GetAttrString(cols, "d"), *q = PyObject_GetAttrString(cols, "q");
    PyObject *tick = PyObject_GetAttrString(cols, "tick"), *tr = PyObject_GetAttrString(cols, "trades");
    PyObject *ar = PyObject_GetAttrString(cols, "seconds"), *tape = PyObject_GetAttrString(cols, "tape");
    int ok = d && q && tick && tr && ar && tape;
    for (int i = 0; ok && i < ND; i++) ok = (D[i] = grab(PyList_GET_ITEM(d, i))) != NULL;
    for (int i = 0; ok && i < NQ; i++) ok = (Q[i] = grab(PyList_GET_ITEM(q, i))) != NULL;
    ok = ok && (TICK = grab(tick)) && (TR = grab(tr)) && (AR = grab(ar)) && (GIDX = grab(tape));
    Py_XDECREF(d); Py_XDECREF(q); Py_XDECREF(tick); Py_XDECREF(tr); Py_XDECREF(ar); Py_XDECREF(tape);
    if (!ok) { release(); return -1; }
    Py_INCREF(cols);
    cur = cols;
    return 0;
}

static inline double dbl(PyObject *o) { return PyFloat_CheckExact(o) ? PyFloat_AS_DOUBLE(o) : PyFloat_AsDouble(o); }

static Py_ssize_t symbol(PyObject *index, PyObject *name) {
    PyObject *i = PyDict_GetItemWithError(index, name);
    return i ? PyLong_AsSsize_t(i) : -1;
}

static PyObject *apply(PyObject *self, PyObject *args) {
    PyObject *cols, *events, *tq, *tt, *ta;
    long long v, recv;
    if (!PyArg_ParseTuple(args, "OO!LLOOO", &cols, &PyList_Type, &events, &v, &recv, &tq, &tt, &ta)) return NULL;
    static const char *const qn[] = {"symbol", "bid", "ask", "bid_size", "ask_size", "timestamp", NULL};
    static const char *const tn[] = {"symbol", "price", "size", "timestamp", "exchange", "conditions", NULL};
    static const char *const an[] = {"symbol", "start", "open", "high", "low", "close", "volume", "vwap", "end", NULL};
    if (fields(tq, &FQ, qn) || fields(tt, &FT, tn) || fields(ta, &FA, an) || attach(cols)) return NULL;
    PyObject *index = PyObject_GetAttrString(cols, "index");
    PyObject *conditions = PyObject_GetAttrString(cols, "conditions");
    PyObject *lookup = conditions ? PyObject_GetAttrString(conditions, "lookup") : NULL;
    PyObject *gn_obj = PyObject_GetAttrString(cols, "tape_n");
    long long gn = gn_obj ? PyLong_AsLongLong(gn_obj) : 0;
    Py_XDECREF(gn_obj);
    if (!index || !lookup || PyErr_Occurred()) goto fail;
    Py_ssize_t n = PyList_GET_SIZE(events);
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *ev = PyList_GET_ITEM(events, k);
        PyTypeObject *tp = Py_TYPE(ev);
        if (tp == FQ.tp) {
            Py_ssize_t i = symbol(index, F(ev, FQ, 0));
            if (i < 0) { if (PyErr_Occurred()) goto fail; continue; }
            D[BID][i] = dbl(F(ev, FQ, 1));
            D[ASK][i] = dbl(F(ev, FQ, 2));
            D[BSZ][i] = dbl(F(ev, FQ, 3));
            D[ASZ][i] = dbl(F(ev, FQ, 4));
            Q[QMS][i] = PyLong_AsLongLong(F(ev, FQ, 5));
            Q[VER][i] = v;
            Q[UPD][i] = recv;
        } else if (tp == FT.tp) {
            Py_ssize_t i = symbol(index, F(ev, FT, 0));
            if (i < 0) { if (PyErr_Occurred()) goto fail; continue; }
            double p = dbl(F(ev, FT, 1)), size = dbl(F(ev, FT, 2));
            long long t = PyLong_AsLongLong(F(ev, FT, 3));
            long x = PyLong_AsLong(F(ev, FT, 4));
            PyObject *c = F(ev, FT, 5);
            long cc = 63; /* ALL_CODE */
            if (PyTuple_GET_SIZE(c)) {
                PyObject *code = PyDict_GetItemWithError(lookup, c);
                if (code) cc = PyLong_AsLong(code);
                else {
                    if (PyErr_Occurred()) goto fail;
                    PyObject *name = PyUnicode_InternFromString("intern");
                    PyObject *r = name ? PyObject_CallMethodOneArg(conditions, name, c) : NULL;
                    Py_XDECREF(name);
                    if (!r) goto fail;
                    cc = PyLong_AsLong(r);
                    Py_DECREF(r);
                }
            }
            int code = 0, tk;
            double bid = D[BID][i], ask = D[ASK][i], lp = D[LAST][i];
            if (p >= ask && ask > 0.0) code = 1;
            else if (bid > 0.0 && bid >= p) code = 2;
            if (p > lp) { code |= 4; tk = 1; }
            else if (p < lp) { code |= 8; tk = -1; }
            else tk = 0;
            long long sq = Q[TSEQ][i];
            TRec *r = (TRec *)(TR + (i * TCAP + sq % TCAP) * sizeof(TRec));
            r->t = t; r->p = p; r->s = size; r->code = (unsigned char)code; r->x = (int)x; r->cc = (unsigned int)cc;
            Q[TSEQ][i] = sq + 1;
            GIDX[gn % GCAP] = (int)i;
            gn++;
            long long m = t - t % 60000;
            D[LAST][i] = p; D[LSZ][i] = size; Q[LMS][i] = t; TICK[i] = (signed char)tk;
            if (Q[FS][i] == m && (cc & 7) == 7) {
                if (p > D[FH][i]) { D[FH][i] = p; if (p > D[DH][i]) D[DH][i] = p; }
                else if (p < D[FL][i]) { D[FL][i] = p; if (p < D[DL][i]) D[DL][i] = p; }
                D[FC][i] = p; D[FV][i] += size; D[FPV][i] += p * size; Q[FTX][i] += 1;
            } else {
                Q[FS][i] = m;
                D[FH][i] = D[FL][i] = D[FC][i] = p;
                D[FV][i] = size; D[FPV][i] = p * size; Q[FTX][i] = 1;
                if (p > D[DH][i]) D[DH][i] = p;
                if (p < D[DL][i]) D[DL][i] = p;
            }
            Q[VER][i] = v;
            Q[UPD][i] = recv;
        } else if (tp == FA.tp) {
            Py_ssize_t i = symbol(index, F(ev, FA, 0));
            if (i < 0) { if (PyErr_Occurred()) goto fail; continue; }
            long long sq = Q[ASEQ][i], start = PyLong_AsLongLong(F(ev, FA, 1));
            double high = dbl(F(ev, FA, 3)), low = dbl(F(ev, FA, 4)), close = dbl(F(ev, FA, 5));
            PyObject *vw = F(ev, FA, 7);
            ARec *r = (ARec *)(AR + (i * ACAP + sq % ACAP) * sizeof(ARec));
            r->s = start; r->o = dbl(F(ev, FA, 2)); r->h = high; r->l = low; r->c = close;
            r->v = dbl(F(ev, FA, 6)); r->vw = vw == Py_None ? NAN : dbl(vw); r->f = 1;
            Q[ASEQ][i] = sq + 1;
            if (high > D[DH][i]) D[DH][i] = high;
            if (low < D[DL][i]) D[DL][i] = low;
            long long end = PyLong_AsLongLong(F(ev, FA, 8));
            if (!end) end = start + 1000;
            if (end > Q[LMS][i]) { D[LAST][i] = close; Q[LMS][i] = end; }
            Q[VER][i] = v;
            Q[UPD][i] = recv;
        }
        if (PyErr_Occurred()) goto fail;
    }
    Py_DECREF(index); Py_DECREF(lookup); Py_DECREF(conditions);
    PyObject *gno = PyLong_FromLongLong(gn);
    if (!gno || PyObject_SetAttrString(cols, "tape_n", gno) < 0) { Py_XDECREF(gno); return NULL; }
    Py_DECREF(gno);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(index); Py_XDECREF(lookup); Py_XDECREF(conditions);
    return NULL;
}

static PyMethodDef methods[] = {{"apply", apply, METH_VARARGS, "apply one frame to the columns"}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "columns_probe_c", NULL, -1, methods};
PyMODINIT_FUNC PyInit_columns_probe_c(void) { return PyModule_Create(&module); }
