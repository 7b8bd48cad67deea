// LAC-small's network (engine/tagging/lac/lac.ts) over a batch of sentences: character embedding →
// 2 bidirectional GRU layers → emission scores → CRF Viterbi, label ids per character out.
//
// The outputs must be the JavaScript path's, bit for bit, so the JavaScript fallback and this kernel tag
// a corpus identically. Hence no BLAS here: our own products keep each output's sum in a fixed order
// (the bias first, then k = 0, 1, …, one rounding per multiply and per add, as float32), which the
// JavaScript loops repeat with Math.fround; sigmoid and tanh are built on exp_approx, which the
// JavaScript repeats too. The batching only changes which rows run together: every row's arithmetic
// stays the same, so results depend neither on the batch, nor on the thread count, nor on AVX2.
//
// Work: sentences sorted longest first and dealt to one group per thread; a group runs CHUNK sentences
// at a time through the whole network, all rows of a GRU step in one product (the sentences still
// running are a prefix of the chunk), both directions of a layer one after the other.
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include "common.h"
#include "exp_approx.h"
#include "parallel.h"

#define EMB 128
#define HID 128
#define GATES (3 * HID)      // update | reset | candidate
#define FIRST (2 * GATES)    // a table row: the first layer's input projections, forward | reverse
#define CHUNK 64             // sentences a thread runs through the network together

typedef float v8 __attribute__((vector_size(32)));
// Unaligned loads and stores through a vector type that may alias float (macros: a function returning a
// vector would change the ABI of the baseline copies).
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define load8(p) (*(const v8u *)(p))
#define store8(p, v) (*(v8u *)(p) = (v))

typedef struct {
  const float *w, *b;  // w [in, out] row-major, b [out]
} Linear;

typedef struct {
  const float *ur;    // [HID, 2·HID]: update | reset, from h
  const float *c;     // [HID, HID]: candidate, from r∘h
  const float *bias;  // [GATES]
} Gru;

// The dense tensors in the order lac.ts packs them (LAC_WEIGHTS).
typedef struct {
  Linear first[2];   // fc_0, fc_1 [EMB, GATES]
  Gru gru[4];        // gru_0, gru_1 (layer 0 forward, reverse), gru_2, gru_3 (layer 1)
  Linear second[2];  // fc_2, fc_3 [2·HID, GATES]
  Linear emission;   // fc_4 [2·HID, L]
  const float *crf_start, *crf_end, *crf_trans;  // [L], [L], [L, L] from → to
  int labels;
} Lac;

static size_t lac_weights_length(int64_t L) {
  return (size_t)(2 * (EMB * GATES + GATES) + 4 * (HID * GATES + GATES) + 2 * (2 * HID * GATES + GATES) + 2 * HID * L + L +
                  (L + 2) * L);
}

static Lac lac_unpack(const float *p, int L) {
  Lac m;
  for (int d = 0; d < 2; d++) {
    m.first[d].w = p, p += EMB * GATES;
    m.first[d].b = p, p += GATES;
  }
  for (int g = 0; g < 2; g++) {
    m.gru[g].ur = p, p += HID * 2 * HID;
    m.gru[g].c = p, p += HID * HID;
    m.gru[g].bias = p, p += GATES;
  }
  for (int d = 0; d < 2; d++) {
    m.second[d].w = p, p += 2 * HID * GATES;
    m.second[d].b = p, p += GATES;
  }
  for (int g = 2; g < 4; g++) {
    m.gru[g].ur = p, p += HID * 2 * HID;
    m.gru[g].c = p, p += HID * HID;
    m.gru[g].bias = p, p += GATES;
  }
  m.emission.w = p, p += 2 * HID * L;
  m.emission.b = p, p += L;
  m.crf_start = p;
  m.crf_end = p + L;
  m.crf_trans = p + 2 * L;
  m.labels = L;
  return m;
}

// One tile: R rows (R ≤ 6, a constant after inlining) by the 16 columns from j0; the accumulators stay in
// registers. Each element: init (+ add), then + x[r][kk]·w[kk][j] for kk = 0, 1, … in order.
static inline __attribute__((always_inline)) void tile16(int R, const float *const *x, int k, const float *w, int n, int j0,
                                                         const float *const *init, const float *add, float *const *y) {
  v8 acc[6][2];
  for (int r = 0; r < R; r++) {
    acc[r][0] = load8(init[r] + j0), acc[r][1] = load8(init[r] + j0 + 8);
    if (add) acc[r][0] += load8(add + j0), acc[r][1] += load8(add + j0 + 8);
  }
  for (int kk = 0; kk < k; kk++) {
    v8 w0 = load8(w + (int64_t)kk * n + j0), w1 = load8(w + (int64_t)kk * n + j0 + 8);
    for (int r = 0; r < R; r++) {
      float s = x[r][kk];
      acc[r][0] += w0 * s, acc[r][1] += w1 * s;
    }
  }
  for (int r = 0; r < R; r++) store8(y[r] + j0, acc[r][0]), store8(y[r] + j0 + 8, acc[r][1]);
}

#define ROW_BLOCK 48  // rows whose inputs stay in cache while every column block passes over them

// y[r][j] = init[r][j] (+ add[j]) + Σ_k x[r][k]·w[k][j] for r < rows, j < n (a multiple of 16), the sum over
// k in order: every element sees the same operations whatever the tiling.
static inline __attribute__((always_inline)) void rows_product(int rows, const float *const *x, int k, const float *w, int n,
                                                               const float *const *init, const float *add, float *const *y) {
  for (int r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
    int r1 = rows - r0 < ROW_BLOCK ? rows : r0 + ROW_BLOCK;
    for (int j0 = 0; j0 < n; j0 += 16) {
      int r = r0;
      for (; r + 6 <= r1; r += 6) tile16(6, x + r, k, w, n, j0, init + r, add, y + r);
      switch (r1 - r) {
        case 5: tile16(5, x + r, k, w, n, j0, init + r, add, y + r); break;
        case 4: tile16(4, x + r, k, w, n, j0, init + r, add, y + r); break;
        case 3: tile16(3, x + r, k, w, n, j0, init + r, add, y + r); break;
        case 2: tile16(2, x + r, k, w, n, j0, init + r, add, y + r); break;
        case 1: tile16(1, x + r, k, w, n, j0, init + r, add, y + r); break;
        default: break;
      }
    }
  }
}

static inline __attribute__((always_inline)) float sigmoid_approx(float v) { return 1.0f / (1.0f + exp_approx(-v)); }

static inline __attribute__((always_inline)) float tanh_approx(float v) {
  float e = exp_approx(-2.0f * fabsf(v));
  float t = (1.0f - e) / (1.0f + e);
  return v < 0 ? -t : t;
}

// One chunk's buffers: C characters, S sentences.
typedef struct {
  float *layer0, *layer1;  // [C, 2·HID]: forward | reverse states
  float *gates_in;         // [C, GATES]: the second layer's input projection, one direction at a time
  float *emission;         // [C, pad]: L scores, then the padding columns
  float *h, *ur, *rh, *cand;  // [S, HID], [S, 2·HID], [S, HID], [S, HID]
  const float **x_rows, **in_rows, **init_rows;  // [C] each
  float **y_rows;                                // [C]
  double *alpha, *next, *arg;                    // [pad] each
  int32_t *back;                                 // [T, L] for the longest sentence
} Scratch;

typedef struct {
  const Lac *lac;
  const float *table;
  const int32_t *ids, *offsets;
  const int32_t *order;  // sentences with characters, longest first
  int64_t count;         // of `order`
  int64_t groups;
  int32_t *paths;
  float *emissions;  // NULL unless asked for
  // fc_4 and the CRF transitions with each row padded to `pad` (a multiple of 16) columns, so the emission
  // product runs in whole tiles; the padding's scores are never read
  const float *emit_w, *emit_b;
  const double *trans;
  int pad;
  atomic_bool out_of_memory;
} Batch;

// One GRU direction over a chunk. in_rows[p] is character p's input projection [GATES] (without the GRU's
// bias); states go to out[p][offset .. offset + HID). lens: the chunk's sentence lengths, longest first.
static inline __attribute__((always_inline)) void gru_run(const Gru *g, int sentences, const int32_t *lens, const int32_t *starts,
                                                          int reverse, const float *const *in_rows, float *out, int offset,
                                                          Scratch *s) {
  memset(s->h, 0, (size_t)sentences * HID * sizeof(float));
  int active = sentences;
  for (int step = 0; step < lens[0]; step++) {
    while (active > 0 && lens[active - 1] <= step) active--;
    for (int i = 0; i < active; i++) {
      int p = starts[i] + (reverse ? lens[i] - 1 - step : step);
      s->init_rows[i] = in_rows[p];
      s->x_rows[i] = s->h + i * HID;
      s->y_rows[i] = s->ur + i * 2 * HID;
    }
    rows_product(active, s->x_rows, HID, g->ur, 2 * HID, s->init_rows, g->bias, s->y_rows);
    for (int i = 0; i < active; i++) {
      float *ur = s->ur + i * 2 * HID, *rh = s->rh + i * HID;
      const float *h = s->h + i * HID;
      for (int j = 0; j < HID; j++) {
        ur[j] = sigmoid_approx(ur[j]);
        rh[j] = sigmoid_approx(ur[HID + j]) * h[j];
      }
      s->x_rows[i] = rh;
      s->init_rows[i] += 2 * HID;
      s->y_rows[i] = s->cand + i * HID;
    }
    rows_product(active, s->x_rows, HID, g->c, HID, s->init_rows, g->bias + 2 * HID, s->y_rows);
    for (int i = 0; i < active; i++) {
      int p = starts[i] + (reverse ? lens[i] - 1 - step : step);
      const float *u = s->ur + i * 2 * HID, *c = s->cand + i * HID;
      float *h = s->h + i * HID, *o = out + (int64_t)p * 2 * HID + offset;
      for (int j = 0; j < HID; j++) {
        h[j] = (1.0f - u[j]) * h[j] + u[j] * tanh_approx(c[j]);
        o[j] = h[j];
      }
    }
  }
}

typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8), may_alias));
#define load4d(p) (*(const v4du *)(p))
#define store4d(p, v) (*(v4du *)(p) = (v))

// crf_decoding in float64, as lac.ts: argmax of start + emissions + transitions + end; ties keep the lower
// label (each target's candidates are compared in label order, with >). Four targets per vector; `trans`
// is crf_trans widened to float64 with rows padded to `pad` (a multiple of 16) columns.
static inline __attribute__((always_inline)) void viterbi(const Lac *m, const double *trans, int pad, const float *emission, int T,
                                                          Scratch *s, int32_t *path) {
  int L = m->labels;
  double *alpha = s->alpha, *next = s->next, *arg = s->arg;
  for (int j = 0; j < L; j++) alpha[j] = (double)m->crf_start[j] + (double)emission[j];
  const v4d lowest = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, zero = {0, 0, 0, 0};
  for (int k = 1; k < T; k++) {
    for (int i = 0; i < pad; i += 4) store4d(next + i, lowest), store4d(arg + i, zero);
    for (int j = 0; j < L; j++) {
      v4d a = {alpha[j], alpha[j], alpha[j], alpha[j]}, label = {j, j, j, j};
      const double *row = trans + (int64_t)j * pad;
      for (int i = 0; i < pad; i += 4) {
        v4d v = a + load4d(row + i), best = load4d(next + i);
        v4l better = v > best;
        store4d(next + i, (v4d)(((v4l)v & better) | ((v4l)best & ~better)));
        store4d(arg + i, (v4d)(((v4l)label & better) | ((v4l)load4d(arg + i) & ~better)));
      }
    }
    for (int i = 0; i < L; i++) {
      next[i] += (double)emission[(int64_t)k * pad + i];
      s->back[k * L + i] = (int32_t)arg[i];
    }
    double *swap = alpha;
    alpha = next, next = swap;
  }
  double best = -INFINITY;
  int last = 0;
  for (int i = 0; i < L; i++) {
    double v = alpha[i] + (double)m->crf_end[i];
    if (v > best) best = v, last = i;
  }
  path[T - 1] = last;
  for (int k = T - 1; k > 0; k--) path[k - 1] = s->back[k * L + path[k]];
}

static bool scratch_alloc(Scratch *s, int64_t C, int S, int maxT, int L, int pad) {
  memset(s, 0, sizeof *s);
  s->layer0 = malloc((size_t)C * 2 * HID * sizeof(float));
  s->layer1 = malloc((size_t)C * 2 * HID * sizeof(float));
  s->gates_in = malloc((size_t)C * GATES * sizeof(float));
  s->emission = malloc((size_t)C * pad * sizeof(float));
  s->h = malloc((size_t)S * HID * sizeof(float));
  s->ur = malloc((size_t)S * 2 * HID * sizeof(float));
  s->rh = malloc((size_t)S * HID * sizeof(float));
  s->cand = malloc((size_t)S * HID * sizeof(float));
  s->x_rows = malloc((size_t)C * sizeof(float *));
  s->in_rows = malloc((size_t)C * sizeof(float *));
  s->init_rows = malloc((size_t)C * sizeof(float *));
  s->y_rows = malloc((size_t)C * sizeof(float *));
  s->alpha = malloc((size_t)pad * sizeof(double));
  s->next = malloc((size_t)pad * sizeof(double));
  s->arg = malloc((size_t)pad * sizeof(double));
  s->back = malloc((size_t)maxT * L * sizeof(int32_t));
  return s->layer0 && s->layer1 && s->gates_in && s->emission && s->h && s->ur && s->rh && s->cand && s->x_rows && s->in_rows &&
         s->init_rows && s->y_rows && s->alpha && s->next && s->arg && s->back;
}

static void scratch_free(Scratch *s) {
  void *all[] = {s->layer0, s->layer1, s->gates_in, s->emission, s->h, s->ur, s->rh, s->cand, (void *)s->x_rows,
                 (void *)s->in_rows, (void *)s->init_rows, s->y_rows, s->alpha, s->next, s->arg, s->back};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

// The whole network over one chunk: `members` index b->order, sentences longest first.
static inline __attribute__((always_inline)) void run_chunk(Batch *b, const int32_t *members, int count) {
  const Lac *m = b->lac;
  int L = m->labels;
  int32_t lens[CHUNK], starts[CHUNK];
  int64_t C = 0;
  for (int i = 0; i < count; i++) {
    int32_t sentence = b->order[members[i]];
    lens[i] = b->offsets[sentence + 1] - b->offsets[sentence];
    starts[i] = (int32_t)C;
    C += lens[i];
  }
  Scratch s;
  if (!scratch_alloc(&s, C, count, lens[0], L, b->pad)) {
    atomic_store(&b->out_of_memory, true);
    scratch_free(&s);
    return;
  }
  // layer 0: the table rows of the characters
  for (int d = 0; d < 2; d++) {
    for (int i = 0; i < count; i++) {
      const int32_t *ids = b->ids + b->offsets[b->order[members[i]]];
      for (int t = 0; t < lens[i]; t++) s.in_rows[starts[i] + t] = b->table + (int64_t)ids[t] * FIRST + d * GATES;
    }
    gru_run(&m->gru[d], count, lens, starts, d, s.in_rows, s.layer0, d * HID, &s);
  }
  // layer 1: the input projection of all characters at once, then the recurrence
  for (int64_t p = 0; p < C; p++) {
    s.x_rows[p] = s.layer0 + p * 2 * HID;
    s.y_rows[p] = s.gates_in + p * GATES;
  }
  for (int d = 0; d < 2; d++) {
    for (int64_t p = 0; p < C; p++) s.init_rows[p] = m->second[d].b;
    rows_product((int)C, s.x_rows, 2 * HID, m->second[d].w, GATES, s.init_rows, NULL, s.y_rows);
    for (int64_t p = 0; p < C; p++) s.in_rows[p] = s.gates_in + p * GATES;
    gru_run(&m->gru[2 + d], count, lens, starts, d, s.in_rows, s.layer1, d * HID, &s);
    for (int64_t p = 0; p < C; p++) {  // gru_run reuses the row pointers
      s.x_rows[p] = s.layer0 + p * 2 * HID;
      s.y_rows[p] = s.gates_in + p * GATES;
    }
  }
  for (int64_t p = 0; p < C; p++) {
    s.x_rows[p] = s.layer1 + p * 2 * HID;
    s.init_rows[p] = b->emit_b;
    s.y_rows[p] = s.emission + p * b->pad;
  }
  rows_product((int)C, s.x_rows, 2 * HID, b->emit_w, b->pad, s.init_rows, NULL, s.y_rows);
  for (int i = 0; i < count; i++) {
    int32_t sentence = b->order[members[i]];
    const float *emission = s.emission + (int64_t)starts[i] * b->pad;
    viterbi(m, b->trans, b->pad, emission, lens[i], &s, b->paths + b->offsets[sentence]);
    for (int t = 0; b->emissions && t < lens[i]; t++)
      memcpy(b->emissions + ((int64_t)b->offsets[sentence] + t) * L, emission + (int64_t)t * b->pad, (size_t)L * sizeof(float));
  }
  scratch_free(&s);
}

// Groups [begin, end): group g holds the sorted sentences g, g + groups, g + 2·groups, …
HOT_RANGE(run_groups) {
  Batch *b = ctx;
  int32_t members[CHUNK];
  for (int64_t g = begin; g < end; g++) {
    int count = 0;
    for (int64_t at = g; at < b->count; at += b->groups) {
      members[count++] = (int32_t)at;
      if (count == CHUNK) {
        run_chunk(b, members, count);
        count = 0;
      }
    }
    if (count) run_chunk(b, members, count);
  }
}

typedef struct {
  const Lac *lac;
  const float *embedding;
  float *table;
  const int32_t *missing;
} TableFill;

// table[id] = (fc_0 | fc_1)(embedding[id]) for the missing ids [begin, end)
HOT_RANGE(fill_table) {
  const TableFill *f = ctx;
  for (int64_t i = begin; i < end; i += 4) {
    int rows = end - i < 4 ? (int)(end - i) : 4;
    for (int d = 0; d < 2; d++) {
      const float *x[4], *init[4];
      float *y[4];
      for (int r = 0; r < rows; r++) {
        x[r] = f->embedding + (int64_t)f->missing[i + r] * EMB;
        init[r] = f->lac->first[d].b;
        y[r] = f->table + (int64_t)f->missing[i + r] * FIRST + d * GATES;
      }
      rows_product(rows, x, EMB, f->lac->first[d].w, GATES, init, NULL, y);
    }
  }
}

// Sort keys: (INT32_MAX − length) << 32 | sentence, so ascending order is longest first, then by index.
static int ascending(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

// lacTagBatch(weights, labels, embedding, table, ready, ids, offsets, paths, emissions | null)
napi_value lac_tag_batch(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "lacTagBatch", 9, &a)) return NULL;
  size_t nw = 0, ne = 0, nt = 0, nr = 0, ni = 0, no = 0, np = 0, nem = 0;
  const float *weights = arg_f32(&a, 0, &nw);
  int64_t L = arg_int(&a, 1, 1);
  const float *embedding = arg_f32(&a, 2, &ne);
  float *table = arg_f32(&a, 3, &nt);
  uint8_t *ready = arg_u8(&a, 4, &nr);
  const int32_t *ids = arg_i32(&a, 5, &ni);
  const int32_t *offsets = arg_i32(&a, 6, &no);
  int32_t *paths = arg_i32(&a, 7, &np);
  float *emissions = arg_is_null(&a, 8) ? NULL : arg_f32(&a, 8, &nem);
  if (a.failed) return NULL;
  if (!require_that(&a, L <= 4096 && nw == lac_weights_length(L), "weights must hold the packed LAC tensors for `labels` labels")) return NULL;
  size_t vocab = ne / EMB;
  if (!require_that(&a, ne % EMB == 0 && nt == vocab * FIRST && nr == vocab, "table must hold 768 and ready 1 value per embedding row")) return NULL;
  if (!require_that(&a, no >= 1 && offsets[0] == 0 && (size_t)offsets[no - 1] == ni, "offsets must run from 0 to ids.length")) return NULL;
  if (!require_that(&a, np == ni && (!emissions || nem == ni * (size_t)L), "paths must hold ids.length values, emissions ids.length × labels")) return NULL;
  int64_t sentences = (int64_t)no - 1, with_chars = 0;
  for (int64_t s = 0; s < sentences; s++) {
    int32_t T = offsets[s + 1] - offsets[s];
    if (!require_that(&a, T >= 0, "offsets must not decrease")) return NULL;
    with_chars += T > 0;
  }
  for (size_t i = 0; i < ni; i++)
    if (!require_that(&a, ids[i] >= 0 && (size_t)ids[i] < vocab, "ids must index the embedding rows")) return NULL;
  Lac lac = lac_unpack(weights, (int)L);

  // rows of the table not computed yet, each id once
  int32_t *missing = malloc((ni ? ni : 1) * sizeof(int32_t));
  int64_t *keys = malloc((with_chars ? with_chars : 1) * sizeof(int64_t));
  int32_t *order = malloc((with_chars ? with_chars : 1) * sizeof(int32_t));
  if (!require_that(&a, missing && keys && order, "out of memory")) {
    free(missing), free(keys), free(order);
    return NULL;
  }
  int64_t n_missing = 0;
  for (size_t i = 0; i < ni; i++) {
    if (ready[ids[i]] == 0) ready[ids[i]] = 2, missing[n_missing++] = ids[i];
  }
  TableFill fill = {&lac, embedding, table, missing};
  parallel_for(n_missing, 16, fill_table, &fill);
  for (int64_t i = 0; i < n_missing; i++) ready[missing[i]] = 1;
  free(missing);

  int64_t k = 0;
  for (int64_t s = 0; s < sentences; s++)
    if (offsets[s + 1] > offsets[s]) keys[k++] = ((int64_t)(INT32_MAX - (offsets[s + 1] - offsets[s])) << 32) | s;
  qsort(keys, (size_t)with_chars, sizeof(int64_t), ascending);
  for (int64_t i = 0; i < with_chars; i++) order[i] = (int32_t)(keys[i] & 0xffffffff);
  free(keys);
  int pad = (int)((L + 15) / 16 * 16);
  float *emit_w = calloc((size_t)2 * HID * pad + pad, sizeof(float));
  double *trans = calloc((size_t)L * pad, sizeof(double));
  if (!require_that(&a, emit_w && trans, "out of memory")) {
    free(order), free(emit_w), free(trans);
    return NULL;
  }
  for (int r = 0; r < 2 * HID; r++) memcpy(emit_w + (int64_t)r * pad, lac.emission.w + (int64_t)r * L, (size_t)L * sizeof(float));
  memcpy(emit_w + 2 * HID * pad, lac.emission.b, (size_t)L * sizeof(float));
  for (int j = 0; j < L; j++)
    for (int i = 0; i < L; i++) trans[(int64_t)j * pad + i] = (double)lac.crf_trans[j * L + i];
  int64_t groups = parallel_threads();
  if (groups > with_chars) groups = with_chars;
  Batch batch = {.lac = &lac, .table = table, .ids = ids, .offsets = offsets, .order = order, .count = with_chars, .groups = groups,
                 .paths = paths, .emissions = emissions, .emit_w = emit_w, .emit_b = emit_w + 2 * HID * pad, .trans = trans, .pad = pad};
  atomic_init(&batch.out_of_memory, false);
  if (groups > 0) parallel_for(groups, 1, run_groups, &batch);
  free(order), free(emit_w), free(trans);
  if (!require_that(&a, !atomic_load(&batch.out_of_memory), "out of memory")) return NULL;
  return NULL;
}
