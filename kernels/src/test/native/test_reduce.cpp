// Reductions over sets of dims, softmax and the fused cross-entropy against host references.
#include <algorithm>
#include <climits>

#include "kiln_test.h"

using namespace kt;
using LD = long double;

namespace {

// A [3,4,5] tensor stored as [5][3][4]: strides (4, 1, 12) for the logical dims.
const Shape kShape = {3, 4, 5};
const Strides kStrides = {4, 1, 12};

struct Plan {
  Shape out_shape;
  Geom outer, inner;
  std::vector<int> kept, reduced;
};

Plan plan(const std::vector<int>& reduce) {
  Plan p;
  Strides in_kept, in_red;
  Shape red_shape;
  for (int d = 0; d < 3; ++d) {
    if (std::find(reduce.begin(), reduce.end(), d) != reduce.end()) {
      p.reduced.push_back(d);
      red_shape.push_back(kShape[d]);
      in_red.push_back(kStrides[d]);
    } else {
      p.kept.push_back(d);
      p.out_shape.push_back(kShape[d]);
      in_kept.push_back(kStrides[d]);
    }
  }
  p.outer = geom(p.out_shape, {contiguous(p.out_shape), in_kept});
  p.inner = geom(red_shape, {Strides(red_shape.size(), 0), in_red});
  return p;
}

// Values of the reduced slice for output position o, in row-major order of the reduced dims.
template <class T>
std::vector<T> slice(const std::vector<T>& storage, const Plan& p, long long o) {
  std::vector<T> v;
  for_each_index(kShape, [&](long long, const Shape& c) {
    Shape kc;
    for (int d : p.kept) kc.push_back(c[d]);
    long long lin = 0;
    for (size_t k = 0; k < kc.size(); ++k) lin = lin * p.out_shape[k] + kc[k];
    if (lin == o) v.push_back(storage[offset_of(c, kStrides)]);
  });
  return v;
}

template <class T>
long long ref_arg(const std::vector<T>& v, bool max) {
  long long bi = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    const bool bn = std::isnan((double)v[bi]), vn = std::isnan((double)v[i]);
    if (bn) break;
    if (vn || (max ? v[i] > v[bi] : v[i] < v[bi])) bi = static_cast<long long>(i);
  }
  return bi;
}

template <class T>
void run_float_reductions(const char* suf) {
  std::vector<double> vals = uniform(60, -3, 3);
  // ties and a NaN for the max/argmax family: slice contents depend on the plan, so put a NaN
  // at one storage position and duplicate some values
  vals[7] = vals[19] = vals[33] = 2.875;
  vals[41] = NAN;
  std::vector<T> storage = cast_vec<T>(vals);
  Buf<T> in(storage);
  const std::vector<std::vector<int>> plans = {{1}, {0, 2}, {2}, {0, 1, 2}, {}};
  for (const auto& dims : plans) {
    Plan p = plan(dims);
    const long long nout = numel(p.out_shape);
    Buf<T> out(nout);
    Buf<long long> iout(nout);
    Buf<unsigned char> bout(nout);
    const char* names[] = {"sum", "prod", "max", "min", "mean", "var", "logsumexp", "argmax", "argmin", "all", "any"};
    for (const char* op : names) {
      std::string name = strf("kiln_reduce_%s_%s", op, suf);
      const std::string o = op;
      const double correction = 1.0;
      if (o == "argmax" || o == "argmin") KT_LAUNCH_ROWS(name.c_str(), iout.p, (const T*)in.p, p.outer, p.inner, correction);
      else if (o == "all" || o == "any") KT_LAUNCH_ROWS(name.c_str(), bout.p, (const T*)in.p, p.outer, p.inner, correction);
      else KT_LAUNCH_ROWS(name.c_str(), out.p, (const T*)in.p, p.outer, p.inner, correction);
      auto got = out.get();
      auto goti = iout.get();
      auto gotb = bout.get();
      for (long long i = 0; i < nout; ++i) {
        std::vector<T> s = slice(storage, p, i);
        bool has_nan = false;
        LD sum = 0, prod = 1, sq = 0;
        for (T x : s) {
          has_nan |= std::isnan((double)x);
          sum += x;
          prod *= x;
        }
        const LD mean = sum / s.size();
        for (T x : s) sq += (x - mean) * (x - mean);
        LD mx = -INFINITY, mn = INFINITY;
        for (T x : s) {
          mx = std::max<LD>(mx, x);
          mn = std::min<LD>(mn, x);
        }
        LD lse = 0;
        for (T x : s) lse += expl(x - mx);
        lse = logl(lse) + mx;
        if (has_nan) mx = mn = lse = NAN;
        const double rt = sizeof(T) == 4 ? 2e-5 : 1e-12;
        if (o == "sum") KT_CHECK(close(got[i], (T)sum, rt, rt), "%s[%lld] = %g want %g", name.c_str(), i, (double)got[i], (double)sum);
        if (o == "prod") KT_CHECK(close(got[i], (T)prod, rt, rt), "%s[%lld] = %g want %g", name.c_str(), i, (double)got[i], (double)prod);
        if (o == "max") KT_CHECK(close(got[i], (T)mx, 0, 0), "%s[%lld] = %g want %g", name.c_str(), i, (double)got[i], (double)mx);
        if (o == "min") KT_CHECK(close(got[i], (T)mn, 0, 0), "%s[%lld] = %g want %g", name.c_str(), i, (double)got[i], (double)mn);
        if (o == "mean") KT_CHECK(close(got[i], (T)mean, rt, rt), "%s[%lld] = %g want %g", name.c_str(), i, (double)got[i], (double)mean);
        if (o == "var") {
          const LD var = s.size() > 1 ? sq / (s.size() - 1) : (LD)NAN;
          KT_CHECK(close(got[i], (T)var, rt, rt), "%s[%lld] = %g want %g", name.c_str(), i, (double)got[i], (double)var);
        }
        if (o == "logsumexp") KT_CHECK(close(got[i], (T)lse, rt, rt), "%s[%lld] = %g want %g", name.c_str(), i, (double)got[i], (double)lse);
        if (o == "argmax") KT_CHECK(goti[i] == ref_arg(s, true), "%s[%lld] = %lld want %lld", name.c_str(), i, goti[i], ref_arg(s, true));
        if (o == "argmin") KT_CHECK(goti[i] == ref_arg(s, false), "%s[%lld] = %lld want %lld", name.c_str(), i, goti[i], ref_arg(s, false));
        if (o == "all") KT_CHECK(gotb[i] == (std::all_of(s.begin(), s.end(), [](T x) { return x != 0; }) ? 1 : 0), "%s[%lld]", name.c_str(), i);
        if (o == "any") KT_CHECK(gotb[i] == (std::any_of(s.begin(), s.end(), [](T x) { return x != 0; }) ? 1 : 0), "%s[%lld]", name.c_str(), i);
      }
    }
  }
}

}  // namespace

KT_TEST(reduce_float_dims) {
  run_float_reductions<float>("f32");
  run_float_reductions<double>("f64");
}

KT_TEST(reduce_argmax_ties_take_first) {
  // 100 elements over several warps and grid-stride passes: the max appears at 17, 64 and 99.
  std::vector<float> v(100);
  for (int i = 0; i < 100; ++i) v[i] = static_cast<float>(i % 13);
  v[17] = v[64] = v[99] = 50.0f;
  v[3] = v[70] = -9.0f;
  Buf<float> in(v);
  Buf<long long> out(1);
  Geom outer = geom({}, {{}, {}});
  Geom inner = geom({100}, {{0}, {1}});
  KT_LAUNCH_ROWS("kiln_reduce_argmax_f32", out.p, (const float*)in.p, outer, inner, 0.0);
  KT_CHECK(out.get()[0] == 17, "argmax = %lld", out.get()[0]);
  KT_LAUNCH_ROWS("kiln_reduce_argmin_f32", out.p, (const float*)in.p, outer, inner, 0.0);
  KT_CHECK(out.get()[0] == 3, "argmin = %lld", out.get()[0]);
  v[80] = NAN;
  v[90] = NAN;
  in.put(v);
  KT_LAUNCH_ROWS("kiln_reduce_argmax_f32", out.p, (const float*)in.p, outer, inner, 0.0);
  KT_CHECK(out.get()[0] == 80, "argmax with NaN = %lld", out.get()[0]);
  KT_LAUNCH_ROWS("kiln_reduce_argmin_f32", out.p, (const float*)in.p, outer, inner, 0.0);
  KT_CHECK(out.get()[0] == 80, "argmin with NaN = %lld", out.get()[0]);
}

KT_TEST(reduce_int64_and_bool) {
  std::vector<long long> v(60);
  for (int i = 0; i < 60; ++i) v[i] = (i * 37) % 23 - 11;
  v[5] = LLONG_MAX;
  v[6] = LLONG_MAX;  // sum wraps around
  Buf<long long> in(v);
  Plan p = plan({1});
  const long long nout = numel(p.out_shape);
  Buf<long long> out(nout);
  Buf<unsigned char> bout(nout);
  for (const char* op : {"sum", "prod", "max", "min", "argmax", "argmin", "all", "any"}) {
    std::string name = strf("kiln_reduce_%s_i64", op);
    const std::string o = op;
    if (o == "all" || o == "any") KT_LAUNCH_ROWS(name.c_str(), bout.p, (const long long*)in.p, p.outer, p.inner, 0.0);
    else KT_LAUNCH_ROWS(name.c_str(), out.p, (const long long*)in.p, p.outer, p.inner, 0.0);
    auto got = out.get();
    auto gotb = bout.get();
    for (long long i = 0; i < nout; ++i) {
      auto s = slice(v, p, i);
      unsigned long long sum = 0, prod = 1;
      for (long long x : s) {
        sum += static_cast<unsigned long long>(x);
        prod *= static_cast<unsigned long long>(x);
      }
      long long want = 0;
      if (o == "sum") want = static_cast<long long>(sum);
      if (o == "prod") want = static_cast<long long>(prod);
      if (o == "max") want = *std::max_element(s.begin(), s.end());
      if (o == "min") want = *std::min_element(s.begin(), s.end());
      if (o == "argmax") want = std::max_element(s.begin(), s.end()) - s.begin();
      if (o == "argmin") want = std::min_element(s.begin(), s.end()) - s.begin();
      if (o == "all") want = std::all_of(s.begin(), s.end(), [](long long x) { return x != 0; });
      if (o == "any") want = std::any_of(s.begin(), s.end(), [](long long x) { return x != 0; });
      const long long have = (o == "all" || o == "any") ? gotb[i] : got[i];
      KT_CHECK(have == want, "%s[%lld] = %lld want %lld", name.c_str(), i, have, want);
    }
  }
  std::vector<unsigned char> b = {1, 2, 1, 1, 0, 0, 0, 0, 1, 0, 9, 0};
  Buf<unsigned char> bin(b), bo(3);
  Geom outer = geom({3}, {{1}, {4}});
  Geom inner = geom({4}, {{0}, {1}});
  KT_LAUNCH_ROWS("kiln_reduce_all_bool", bo.p, (const unsigned char*)bin.p, outer, inner, 0.0);
  auto g = bo.get();
  KT_CHECK(g[0] == 1 && g[1] == 0 && g[2] == 0, "all_bool = %d %d %d", g[0], g[1], g[2]);
  KT_LAUNCH_ROWS("kiln_reduce_any_bool", bo.p, (const unsigned char*)bin.p, outer, inner, 0.0);
  g = bo.get();
  KT_CHECK(g[0] == 1 && g[1] == 0 && g[2] == 1, "any_bool = %d %d %d", g[0], g[1], g[2]);
}

KT_TEST(reduce_empty_gives_identity) {
  Buf<float> in(1), out(2);
  Buf<long long> iout(2);
  Buf<unsigned char> bout(2);
  Geom outer = geom({2}, {{1}, {0}});
  Geom inner = geom({0}, {{0}, {1}});
  auto f = [&](const char* name) {
    KT_LAUNCH_ROWS(name, out.p, (const float*)in.p, outer, inner, 0.0);
    return out.get()[1];
  };
  KT_CHECK(f("kiln_reduce_sum_f32") == 0.0f, "empty sum");
  KT_CHECK(f("kiln_reduce_prod_f32") == 1.0f, "empty prod");
  KT_CHECK(f("kiln_reduce_max_f32") == -INFINITY, "empty max");
  KT_CHECK(f("kiln_reduce_min_f32") == INFINITY, "empty min");
  KT_CHECK(std::isnan(f("kiln_reduce_mean_f32")), "empty mean");
  KT_LAUNCH_ROWS("kiln_reduce_all_f32", bout.p, (const float*)in.p, outer, inner, 0.0);
  KT_CHECK(bout.get()[0] == 1, "empty all");
  KT_LAUNCH_ROWS("kiln_reduce_any_f32", bout.p, (const float*)in.p, outer, inner, 0.0);
  KT_CHECK(bout.get()[0] == 0, "empty any");
}

KT_TEST(reduce_var_correction_and_large_rows) {
  // 5000 elements per row: several grid-stride passes per thread; mean far from zero checks
  // the two-pass variance.
  const long long n = 5000;
  std::vector<double> v = uniform(2 * n, 999.0, 1001.0);
  Buf<double> in(v), out(2);
  Geom outer = geom({2}, {{1}, {n}});
  Geom inner = geom({n}, {{0}, {1}});
  for (double corr : {0.0, 1.0}) {
    KT_LAUNCH_ROWS("kiln_reduce_var_f64", out.p, (const double*)in.p, outer, inner, corr);
    auto got = out.get();
    for (int r = 0; r < 2; ++r) {
      LD mean = 0, sq = 0;
      for (long long i = 0; i < n; ++i) mean += v[r * n + i];
      mean /= n;
      for (long long i = 0; i < n; ++i) sq += (v[r * n + i] - mean) * (v[r * n + i] - mean);
      const LD want = sq / (n - corr);
      KT_CHECK(close(got[r], (double)want, 1e-12, 0), "var(corr %g)[%d] = %.17g want %.17Lg", corr, r, got[r], want);
    }
  }
}

KT_TEST(softmax_and_log_softmax) {
  // x is [3,7,4] stored as [7][3][4] (strides 4, 12, 1); softmax over dim 1 into a contiguous out.
  const Shape shape = {3, 7, 4};
  const Strides xs = {4, 12, 1}, os = contiguous(shape);
  auto run = [&](auto tag, const char* suf) {
    using T = decltype(tag);
    std::vector<T> x = cast_vec<T>(uniform(84, -5, 5));
    // row (0, :, 0) has a -inf, row (1, :, 2) is all -inf (NaN result), row (2, :, 3) is large
    x[offset_of({0, 3, 0}, xs)] = -INFINITY;
    for (int j = 0; j < 7; ++j) x[offset_of({1, j, 2}, xs)] = -INFINITY;
    for (int j = 0; j < 7; ++j) x[offset_of({2, j, 3}, xs)] = (T)(1000 + j);
    Buf<T> in(x), out(84);
    Geom outer = geom({3, 4}, {{os[0], os[2]}, {xs[0], xs[2]}});
    for (bool log : {false, true}) {
      std::string name = strf("kiln_%ssoftmax_%s", log ? "log_" : "", suf);
      KT_LAUNCH_ROWS(name.c_str(), out.p, (const T*)in.p, outer, 7LL, xs[1], os[1]);
      auto got = out.get();
      for (int a = 0; a < 3; ++a) {
        for (int c = 0; c < 4; ++c) {
          LD m = -INFINITY;
          for (int j = 0; j < 7; ++j) m = std::max<LD>(m, x[offset_of({a, j, c}, xs)]);
          LD s = 0;
          for (int j = 0; j < 7; ++j) s += expl(x[offset_of({a, j, c}, xs)] - m);
          for (int j = 0; j < 7; ++j) {
            const LD d = x[offset_of({a, j, c}, xs)] - m;
            const LD want = log ? d - logl(s) : expl(d) / s;
            const T have = got[offset_of({a, j, c}, os)];
            KT_CHECK(close(have, (T)want, Tol<T>::rtol * 4, Tol<T>::atol), "%s(%d,%d,%d) = %g want %Lg", name.c_str(), a, j, c, (double)have, want);
          }
        }
      }
    }
  };
  run(float(), "f32");
  run(double(), "f64");
}

KT_TEST(cross_entropy_forward_backward) {
  const long long N = 7, C = 37, ignore = -100;
  auto run = [&](auto tag, const char* suf) {
    using T = decltype(tag);
    std::vector<T> logits = cast_vec<T>(uniform(N * C, -4, 4));
    logits[2 * C + 5] = (T)40;  // a dominant logit
    std::vector<long long> target = {3, ignore, 5, 36, 0, 40, 12};  // row 5 is out of range
    Buf<T> dl(logits), loss(N), lse(N), grad(N * C);
    Buf<long long> dt(target);
    std::string f = strf("kiln_cross_entropy_fwd_%s", suf), b = strf("kiln_cross_entropy_bwd_%s", suf);
    KT_LAUNCH_ROWS(f.c_str(), loss.p, lse.p, (const T*)dl.p, (const long long*)dt.p, N, C, ignore);
    auto gl = loss.get();
    auto gs = lse.get();
    std::vector<LD> want_lse(N);
    for (long long n = 0; n < N; ++n) {
      LD m = -INFINITY, s = 0;
      for (long long c = 0; c < C; ++c) m = std::max<LD>(m, logits[n * C + c]);
      for (long long c = 0; c < C; ++c) s += expl(logits[n * C + c] - m);
      want_lse[n] = logl(s) + m;
      KT_CHECK(close(gs[n], (T)want_lse[n], Tol<T>::rtol, Tol<T>::atol), "%s lse[%lld]", f.c_str(), n);
      const long long t = target[n];
      if (t == ignore) KT_CHECK(gl[n] == 0, "%s ignored row %lld gave %g", f.c_str(), n, (double)gl[n]);
      else if (t < 0 || t >= C) KT_CHECK(std::isnan((double)gl[n]), "%s out-of-range target gave %g", f.c_str(), (double)gl[n]);
      else KT_CHECK(close(gl[n], (T)(want_lse[n] - logits[n * C + t]), Tol<T>::rtol * 4, Tol<T>::atol * 4), "%s loss[%lld] = %g", f.c_str(), n, (double)gl[n]);
    }
    // backward with a broadcast scalar (mean over the 6 counted rows), then per-row weights
    for (long long stride : {0LL, 1LL}) {
      std::vector<T> g(N);
      for (long long n = 0; n < N; ++n) g[n] = stride ? (T)(0.5 + n) : (T)(1.0 / 6.0);
      Buf<T> dg(g);
      KT_LAUNCH(b.c_str(), grad.p, (const T*)dl.p, (const T*)lse.p, (const long long*)dt.p, (const T*)dg.p, stride, N, C, ignore);
      auto gg = grad.get();
      for (long long n = 0; n < N; ++n) {
        if (target[n] >= C) continue;
        for (long long c = 0; c < C; ++c) {
          const LD p = expl(logits[n * C + c] - want_lse[n]);
          const LD want = target[n] == ignore ? 0 : (LD)g[n * stride] * (p - (c == target[n] ? 1 : 0));
          KT_CHECK(close(gg[n * C + c], (T)want, Tol<T>::rtol * 4, Tol<T>::atol), "%s grad[%lld,%lld] = %g want %Lg", b.c_str(), n, c, (double)gg[n * C + c], want);
        }
      }
    }
  };
  run(float(), "f32");
  run(double(), "f64");
}
