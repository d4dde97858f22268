// Reference Einsum: parses the equation (ellipsis, implicit output), takes diagonals of repeated
// labels, sums labels no later term needs, and contracts operands left to right as batched
// matrix products. Floats compute in float (double for f64); integers wrap through uint64.
#include <algorithm>
#include <array>

#include "kernels/reference/nn_internal.h"

namespace edgeai::kernels::ref::nn {
namespace {

// Labels: letters map to 0..51 in ASCII order (A-Z, then a-z); ellipsis dims to 52 + j.
constexpr int kEllipsisBase = 52;
constexpr int kEllipsis = -1;  // marker in a parsed term

int letter_id(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
  return -2;
}

// Parses one term ("ij", "...ij", "i...j") into label ids with kEllipsis for "...".
Result<std::vector<int>> parse_term(const KernelContext& ctx, const std::string& term) {
  std::vector<int> out;
  bool seen_ellipsis = false;
  for (size_t i = 0; i < term.size();) {
    if (term[i] == '.') {
      if (term.compare(i, 3, "...") != 0 || seen_ellipsis) {
        return ctx.error("bad ellipsis in equation term '" + term + "'");
      }
      seen_ellipsis = true;
      out.push_back(kEllipsis);
      i += 3;
      continue;
    }
    int id = letter_id(term[i]);
    if (id < 0) return ctx.error("bad character '" + std::string(1, term[i]) + "' in equation term '" + term + "'");
    out.push_back(id);
    ++i;
  }
  return out;
}

// A tensor whose dims carry labels (unique once diagonals are taken).
template <typename A>
struct LTensor {
  std::vector<int> labels;
  Shape dims;
  std::vector<A> data;
};

// Copies the strided view (dims, strides) of src into a new dense row-major buffer.
template <typename A>
std::vector<A> gather(const A* src, const Shape& dims, const std::vector<int64_t>& strides) {
  const int64_t n = shape_numel(dims);
  std::vector<A> out(static_cast<size_t>(n));
  if (n == 0) return out;
  const int r = static_cast<int>(dims.size());
  if (r == 0) {
    out[0] = src[0];
    return out;
  }
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  const int64_t last = dims[r - 1], ls = strides[r - 1];
  for (int64_t i = 0; i < n; i += last) {
    for (int64_t j = 0; j < last; ++j) out[i + j] = src[off + j * ls];
    for (int d = r - 2; d >= 0; --d) {
      off += strides[d];
      if (++idx[d] < dims[d]) break;
      off -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
  return out;
}

// Rearranges t to the dims of `labels` (each of t's labels listed once; labels t lacks get size
// 1 unless `sizes` gives a broadcast size). Dims of size 1 broadcast to sizes[label].
template <typename A>
std::vector<A> arrange(const LTensor<A>& t, const std::vector<int>& labels, const std::array<int64_t, 128>& sizes,
                       Shape* out_dims) {
  const std::vector<int64_t> st = shape_strides(t.dims);
  Shape dims;
  std::vector<int64_t> strides;
  for (int l : labels) {
    auto it = std::find(t.labels.begin(), t.labels.end(), l);
    const int64_t size = sizes[l];
    dims.push_back(size);
    if (it == t.labels.end()) {
      strides.push_back(0);
    } else {
      const size_t d = it - t.labels.begin();
      strides.push_back(t.dims[d] == 1 ? 0 : st[d]);
    }
  }
  *out_dims = dims;
  return gather(t.data.data(), dims, strides);
}

// Sums out the labels of t for which keep(label) is false.
template <typename A, typename F>
void reduce_labels(LTensor<A>& t, F&& keep) {
  std::vector<int> kept, dropped;
  for (int l : t.labels) (keep(l) ? kept : dropped).push_back(l);
  if (dropped.empty()) return;
  std::array<int64_t, 128> sizes{};
  for (size_t d = 0; d < t.labels.size(); ++d) sizes[t.labels[d]] = t.dims[d];
  std::vector<int> order = kept;
  order.insert(order.end(), dropped.begin(), dropped.end());
  Shape dims;
  std::vector<A> arranged = arrange(t, order, sizes, &dims);
  int64_t inner = 1;
  for (int l : dropped) inner *= sizes[l];
  Shape kdims;
  for (int l : kept) kdims.push_back(sizes[l]);
  const int64_t outer = shape_numel(kdims);
  std::vector<A> out(static_cast<size_t>(outer), A(0));
  for (int64_t o = 0; o < outer; ++o) {
    A s = A(0);
    const A* p = arranged.data() + o * inner;
    for (int64_t i = 0; i < inner; ++i) s += p[i];
    out[o] = s;
  }
  t.labels = kept;
  t.dims = kdims;
  t.data = std::move(out);
}

// Contracts x and y over their shared labels that keep() rejects; the result has the batch
// (shared, kept) labels, then x's own labels, then y's own labels.
template <typename A, typename F>
Result<LTensor<A>> contract(KernelContext& ctx, LTensor<A>& x, LTensor<A>& y, F&& keep) {
  auto in = [](const LTensor<A>& t, int l) { return std::find(t.labels.begin(), t.labels.end(), l) != t.labels.end(); };
  reduce_labels(x, [&](int l) { return keep(l) || in(y, l); });
  reduce_labels(y, [&](int l) { return keep(l) || in(x, l); });
  std::vector<int> batch, ms, ns, ks;
  for (int l : x.labels) {
    if (in(y, l)) (keep(l) ? batch : ks).push_back(l);
    else ms.push_back(l);
  }
  for (int l : y.labels) {
    if (!in(x, l)) ns.push_back(l);
  }
  std::array<int64_t, 128> sizes{};
  for (size_t d = 0; d < x.labels.size(); ++d) sizes[x.labels[d]] = x.dims[d];
  // A label of size 1 in one operand broadcasts to its size (possibly 0) in the other.
  for (size_t d = 0; d < y.labels.size(); ++d) {
    const int l = y.labels[d];
    if (!in(x, l) || sizes[l] == 1) sizes[l] = y.dims[d];
  }
  auto prod = [&](const std::vector<int>& ls) {
    int64_t p = 1;
    for (int l : ls) p *= sizes[l];
    return p;
  };
  // The operands as [batch, m, k] and [batch, k, n] and the result [batch, m, n] must stay
  // within a bound.
  const double kLimit = static_cast<double>(int64_t(1) << 32);
  auto dprod = [&](const std::vector<int>& ls) {
    double p = 1;
    for (int l : ls) p *= static_cast<double>(sizes[l]);
    return p;
  };
  const double db = dprod(batch), dm = dprod(ms), dn = dprod(ns), dk = dprod(ks);
  if (db * dm * dk > kLimit || db * dk * dn > kLimit || db * dm * dn > kLimit || db > kLimit || dm > kLimit ||
      dn > kLimit || dk > kLimit) {
    return ctx.error("an intermediate of the contraction would have more than 2^32 elements");
  }
  const int64_t B = prod(batch), M = prod(ms), N = prod(ns), K = prod(ks);
  std::vector<int> xo = batch, yo = batch;
  xo.insert(xo.end(), ms.begin(), ms.end());
  xo.insert(xo.end(), ks.begin(), ks.end());
  yo.insert(yo.end(), ks.begin(), ks.end());
  yo.insert(yo.end(), ns.begin(), ns.end());
  Shape xd, yd;
  std::vector<A> xa = arrange(x, xo, sizes, &xd);
  std::vector<A> ya = arrange(y, yo, sizes, &yd);
  LTensor<A> r;
  r.labels = batch;
  r.labels.insert(r.labels.end(), ms.begin(), ms.end());
  r.labels.insert(r.labels.end(), ns.begin(), ns.end());
  for (int l : r.labels) r.dims.push_back(sizes[l]);
  r.data.assign(static_cast<size_t>(B * M * N), A(0));
  ctx.pool().parallel_for(B * M, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t b = row / M;
      const A* xr = xa.data() + row * K;
      const A* yb = ya.data() + b * K * N;
      A* out = r.data.data() + row * N;
      for (int64_t k = 0; k < K; ++k) {
        const A xv = xr[k];
        const A* yr = yb + k * N;
        for (int64_t j = 0; j < N; ++j) out[j] += xv * yr[j];
      }
    }
  });
  return r;
}

}  // namespace

Status einsum(KernelContext& ctx) {
  const int n_in = ctx.num_inputs();
  if (n_in < 1) return ctx.error("expected at least 1 input, got 0");
  RETURN_IF_ERROR(check_inputs(ctx, 1, n_in, n_in));
  const DType dt = ctx.input(0).dtype();
  for (int i = 1; i < n_in; ++i) RETURN_IF_ERROR(check_same_dtype(ctx, 0, i));
  if (dt == DType::kBool || dt == DType::kString) return ctx.error("dtype " + dtype_str(dt) + " is not supported");

  std::string eq;
  for (char ch : ctx.attr_string("equation", "")) {
    if (ch != ' ' && ch != '\t') eq += ch;
  }
  if (eq.empty()) return ctx.error("attribute equation is required");
  std::string lhs = eq, rhs;
  const size_t arrow = eq.find("->");
  const bool explicit_out = arrow != std::string::npos;
  if (explicit_out) {
    lhs = eq.substr(0, arrow);
    rhs = eq.substr(arrow + 2);
    if (rhs.find("->") != std::string::npos) return ctx.error("equation '" + eq + "' has more than one '->'");
  }
  std::vector<std::string> terms;
  {
    size_t start = 0;
    while (true) {
      size_t comma = lhs.find(',', start);
      terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (static_cast<int>(terms.size()) != n_in) {
    return ctx.error("equation '" + eq + "' has " + std::to_string(terms.size()) + " input terms, but the node has " +
                     std::to_string(n_in) + " inputs");
  }

  // Resolve each term to one label per dim.
  std::vector<std::vector<int>> parsed(n_in);
  int ell_rank = 0;
  for (int i = 0; i < n_in; ++i) {
    ASSIGN_OR_RETURN(parsed[i], parse_term(ctx, terms[i]));
    const int rank = ctx.input(i).rank();
    const bool has_ell = std::find(parsed[i].begin(), parsed[i].end(), kEllipsis) != parsed[i].end();
    const int letters = static_cast<int>(parsed[i].size()) - (has_ell ? 1 : 0);
    if (has_ell ? rank < letters : rank != letters) {
      return ctx.error("term '" + terms[i] + "' does not match input " + std::to_string(i) + " of shape " +
                       shape_str(ctx.input(i).shape()));
    }
    if (has_ell) ell_rank = std::max(ell_rank, rank - letters);
  }
  if (ell_rank > 128 - kEllipsisBase) return ctx.error("too many ellipsis dims");
  std::vector<std::vector<int>> labels(n_in);
  std::array<int, 128> count{};
  for (int i = 0; i < n_in; ++i) {
    const int rank = ctx.input(i).rank();
    const int letters = static_cast<int>(parsed[i].size()) - 1;
    for (int l : parsed[i]) {
      if (l == kEllipsis) {
        const int e = rank - letters;
        for (int j = 0; j < e; ++j) labels[i].push_back(kEllipsisBase + ell_rank - e + j);
      } else {
        labels[i].push_back(l);
      }
    }
    for (int l : labels[i]) ++count[l];
  }
  // Label sizes: equal across inputs, or 1 (broadcast).
  std::array<int64_t, 128> size{};
  size.fill(-1);
  for (int i = 0; i < n_in; ++i) {
    const Shape& s = ctx.input(i).shape();
    for (size_t d = 0; d < labels[i].size(); ++d) {
      const int l = labels[i][d];
      for (size_t e = 0; e < d; ++e) {
        if (labels[i][e] == l && s[e] != s[d]) {
          return ctx.error("repeated label in term '" + terms[i] + "' spans dims of sizes " + std::to_string(s[e]) +
                           " and " + std::to_string(s[d]));
        }
      }
      if (size[l] == -1 || size[l] == 1) {
        size[l] = s[d];
      } else if (s[d] != 1 && s[d] != size[l]) {
        return ctx.error("label of input " + std::to_string(i) + " dim " + std::to_string(d) + " has size " +
                         std::to_string(s[d]) + " but " + std::to_string(size[l]) + " elsewhere");
      }
    }
  }
  // Output labels.
  std::vector<int> out_labels;
  if (explicit_out) {
    ASSIGN_OR_RETURN(std::vector<int> out_parsed, parse_term(ctx, rhs));
    for (int l : out_parsed) {
      if (l == kEllipsis) {
        for (int j = 0; j < ell_rank; ++j) out_labels.push_back(kEllipsisBase + j);
        continue;
      }
      if (count[l] == 0) return ctx.error("output label in '" + rhs + "' does not appear in any input term");
      if (std::find(out_labels.begin(), out_labels.end(), l) != out_labels.end()) {
        return ctx.error("output term '" + rhs + "' repeats a label");
      }
      out_labels.push_back(l);
    }
  } else {
    for (int j = 0; j < ell_rank; ++j) out_labels.push_back(kEllipsisBase + j);
    for (int l = 0; l < kEllipsisBase; ++l) {
      if (count[l] == 1) out_labels.push_back(l);
    }
  }
  std::array<bool, 128> in_out{};
  for (int l : out_labels) in_out[l] = true;
  Shape out_shape;
  for (int l : out_labels) out_shape.push_back(std::max<int64_t>(size[l], 0));
  ASSIGN_OR_RETURN(int64_t out_n, checked_size(out_shape));
  (void)out_n;
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, dt, out_shape));

  return visit_numeric(dt, [&]<typename T>() {
    using A = std::conditional_t<kIsFloat<T>, Acc<T>, uint64_t>;
    // Operands with diagonals taken.
    std::vector<LTensor<A>> ops(n_in);
    for (int i = 0; i < n_in; ++i) {
      const Tensor& t = ctx.input(i);
      std::vector<A> buf;
      const A* src = as_acc<A, T>(t, buf);
      const std::vector<int64_t> st = shape_strides(t.shape());
      LTensor<A>& op = ops[i];
      std::vector<int64_t> strides;
      for (size_t d = 0; d < labels[i].size(); ++d) {
        const int l = labels[i][d];
        auto it = std::find(op.labels.begin(), op.labels.end(), l);
        if (it == op.labels.end()) {
          op.labels.push_back(l);
          op.dims.push_back(t.dim(static_cast<int>(d)));
          strides.push_back(st[d]);
        } else {
          strides[it - op.labels.begin()] += st[d];
        }
      }
      op.data = gather(src, op.dims, strides);
    }
    // Number of operands (from index i on) holding each label.
    auto needed_after = [&](int i, int l) {
      if (in_out[l]) return true;
      for (int j = i + 1; j < n_in; ++j) {
        if (std::find(ops[j].labels.begin(), ops[j].labels.end(), l) != ops[j].labels.end()) return true;
      }
      return false;
    };
    LTensor<A> cur = std::move(ops[0]);
    for (int i = 1; i < n_in; ++i) {
      ASSIGN_OR_RETURN(cur, contract(ctx, cur, ops[i], [&](int l) { return needed_after(i, l); }));
    }
    reduce_labels(cur, [&](int l) { return in_out[l]; });
    std::array<int64_t, 128> sizes{};
    for (size_t d = 0; d < cur.labels.size(); ++d) sizes[cur.labels[d]] = cur.dims[d];
    for (int l : out_labels) {
      if (std::find(cur.labels.begin(), cur.labels.end(), l) == cur.labels.end()) sizes[l] = 1;
    }
    Shape dims;
    std::vector<A> res = arrange(cur, out_labels, sizes, &dims);
    T* yd = y->data<T>();
    if (static_cast<int64_t>(res.size()) != y->numel()) {
      return ctx.error("internal error: result has " + std::to_string(res.size()) + " elements, expected " +
                       std::to_string(y->numel()));
    }
    store_all(res.data(), y->numel(), yd);
    return ok_status();
  });
}

}  // namespace edgeai::kernels::ref::nn
