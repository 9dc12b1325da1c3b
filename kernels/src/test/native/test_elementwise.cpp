// Unary, binary, where, cast and fill kernels against host references, on strided and
// broadcast geometries.
#include <climits>

#include "kiln_test.h"

using namespace kt;
using LD = long double;

namespace {

const double kInf = INFINITY;
const double kNaN = NAN;

std::vector<double> float_inputs() {
  std::vector<double> v = {0.0,   -0.0, 1.0,   -1.0, 0.5,  -0.5, 1.5,   2.5,  -2.5, 3.5,
                           3.7,   -3.7, 1e-3,  20.0, -20.0, 80.0, -100.0, kInf, -kInf, kNaN,
                           1e30,  -1e30, 0.25, 7.0,  -0.75, 1e-30};
  auto r = uniform(34, -10.0, 10.0);
  v.insert(v.end(), r.begin(), r.end());
  return v;  // 60 values: a 5 x 12 view
}

// Input is a transposed view: storage [C][R], read as [R][C] with strides (1, R); output is
// contiguous [R][C].
template <class T>
void run_unary(const char* op, const char* suf, const std::function<LD(LD)>& ref, double p0, double p1,
               bool exact) {
  const std::vector<double> vals = float_inputs();
  const long long R = 5, C = static_cast<long long>(vals.size()) / R;
  std::vector<T> storage = cast_vec<T>(vals);
  Buf<T> in(storage), out(static_cast<size_t>(R * C));
  Geom g = geom({R, C}, {{C, 1}, {1, R}});
  std::string name = strf("kiln_unary_%s_%s", op, suf);
  KT_LAUNCH(name.c_str(), out.p, (const T*)in.p, g, p0, p1);
  std::vector<T> got = out.get();
  for (long long r = 0; r < R; ++r) {
    for (long long c = 0; c < C; ++c) {
      const T x = storage[c * R + r];
      const T want = static_cast<T>(ref(static_cast<LD>(x)));
      const T have = got[r * C + c];
      bool ok = exact ? (have == want || (std::isnan(want) && std::isnan(have)))
                      : close(have, want, Tol<T>::rtol, Tol<T>::atol);
      KT_CHECK(ok, "%s(%.9g) = %.17g, want %.17g", name.c_str(), (double)x, (double)have, (double)want);
    }
  }
}

struct UnaryOp {
  const char* name;
  std::function<LD(LD)> ref;
  double p0, p1;
  bool exact;
};

LD ref_sign(LD x) { return x > 0 ? 1 : (x < 0 ? -1 : 0); }
LD ref_relu(LD x) { return std::isnan(x) ? x : (x > 0 ? x : 0); }
LD ref_sigmoid(LD x) { return 1.0L / (1.0L + expl(-x)); }
LD ref_clamp(LD x, LD lo, LD hi) {
  if (std::isnan(x)) return x;
  LD r = x < lo ? lo : x;
  return r > hi ? hi : r;
}

std::vector<UnaryOp> unary_ops() {
  return {
      {"neg", [](LD x) { return -x; }, 0, 0, true},
      {"abs", [](LD x) { return fabsl(x); }, 0, 0, true},
      {"exp", [](LD x) { return expl(x); }, 0, 0, false},
      {"log", [](LD x) { return logl(x); }, 0, 0, false},
      {"sqrt", [](LD x) { return sqrtl(x); }, 0, 0, false},
      {"rsqrt", [](LD x) { return 1.0L / sqrtl(x); }, 0, 0, false},
      {"sin", [](LD x) { return sinl(x); }, 0, 0, false},
      {"cos", [](LD x) { return cosl(x); }, 0, 0, false},
      {"tanh", [](LD x) { return tanhl(x); }, 0, 0, false},
      {"sigmoid", ref_sigmoid, 0, 0, false},
      {"relu", ref_relu, 0, 0, true},
      {"gelu", [](LD x) { return 0.5L * x * (1.0L + erfl(x / sqrtl(2.0L))); }, 0, 0, false},
      {"silu", [](LD x) { return x * ref_sigmoid(x); }, 0, 0, false},
      {"sign", ref_sign, 0, 0, true},
      {"floor", [](LD x) { return floorl(x); }, 0, 0, true},
      {"ceil", [](LD x) { return ceill(x); }, 0, 0, true},
      // half to even, written out rather than with rint
      {"round", [](LD x) {
         if (!std::isfinite(x)) return x;
         LD f = floorl(x), d = x - f;
         if (d > 0.5L || (d == 0.5L && fmodl(f, 2.0L) != 0)) f += 1;
         return f == 0 ? copysignl(0.0L, x) : f;
       }, 0, 0, true},
      {"reciprocal", [](LD x) { return 1.0L / x; }, 0, 0, false},
      {"square", [](LD x) { return x * x; }, 0, 0, false},
      {"log1p", [](LD x) { return log1pl(x); }, 0, 0, false},
      {"expm1", [](LD x) { return expm1l(x); }, 0, 0, false},
      {"erf", [](LD x) { return erfl(x); }, 0, 0, false},
      {"clamp", [](LD x) { return ref_clamp(x, -1.5L, 2.25L); }, -1.5, 2.25, true},
      {"leaky_relu", [](LD x) { return x > 0 ? x : x * 0.01L; }, 0.01, 0, false},
      {"elu", [](LD x) { return x > 0 ? x : 1.3L * expm1l(x); }, 1.3, 0, false},
  };
}

}  // namespace

KT_TEST(unary_float_ops) {
  for (const UnaryOp& op : unary_ops()) {
    run_unary<float>(op.name, "f32", op.ref, op.p0, op.p1, op.exact);
    run_unary<double>(op.name, "f64", op.ref, op.p0, op.p1, op.exact);
  }
  // an absent bound is passed as an infinity
  run_unary<float>("clamp", "f32", [](LD x) { return ref_clamp(x, -kInf, 0.5L); }, -kInf, 0.5, true);
  run_unary<double>("clamp", "f64", [](LD x) { return ref_clamp(x, 0.0L, kInf); }, 0.0, kInf, true);
}

KT_TEST(unary_round_is_half_to_even) {
  std::vector<float> v = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f};
  std::vector<float> want = {0.0f, 2.0f, 2.0f, -0.0f, -2.0f, -2.0f, 4.0f};
  Buf<float> in(v), out(v.size());
  Geom g = geom({7}, {{1}, {1}});
  KT_LAUNCH("kiln_unary_round_f32", out.p, (const float*)in.p, g, 0.0, 0.0);
  auto got = out.get();
  for (size_t i = 0; i < v.size(); ++i) {
    KT_CHECK(got[i] == want[i] && std::signbit(got[i]) == std::signbit(want[i]), "round(%g) = %g", v[i], got[i]);
  }
}

KT_TEST(unary_int64_and_bool) {
  const std::vector<long long> vals = {0, 1, -1, 5, -7, 3, LLONG_MIN, LLONG_MAX, 1LL << 40, -(1LL << 33), 42, -2};
  const long long n = static_cast<long long>(vals.size());
  Buf<long long> in(vals), out(vals.size());
  Buf<unsigned char> bout(vals.size());
  Geom g = geom({n}, {{1}, {1}});
  auto wrap = [](__int128 v) { return static_cast<long long>(static_cast<unsigned long long>(v)); };
  struct Op {
    const char* name;
    std::function<long long(long long)> ref;
    double p0, p1;
  };
  std::vector<Op> ops = {
      {"neg", [&](long long x) { return wrap(-static_cast<__int128>(x)); }, 0, 0},
      {"abs", [&](long long x) { return wrap(x < 0 ? -static_cast<__int128>(x) : x); }, 0, 0},
      {"sign", [](long long x) { return x > 0 ? 1LL : (x < 0 ? -1LL : 0LL); }, 0, 0},
      {"square", [&](long long x) { return wrap(static_cast<__int128>(x) * x); }, 0, 0},
      {"relu", [](long long x) { return x > 0 ? x : 0LL; }, 0, 0},
      // bounds -3.5 and 1e30 become -3 (rounded up) and INT64_MAX (saturated)
      {"clamp", [](long long x) { return x < -3 ? -3LL : x; }, -3.5, 1e30},
      {"clamp", [](long long x) { return x > 4 ? 4LL : (x < -2 ? -2LL : x); }, -2.0, 4.9},
  };
  for (const Op& op : ops) {
    std::string name = strf("kiln_unary_%s_i64", op.name);
    KT_LAUNCH(name.c_str(), out.p, (const long long*)in.p, g, op.p0, op.p1);
    auto got = out.get();
    for (long long i = 0; i < n; ++i) {
      KT_CHECK(got[i] == op.ref(vals[i]), "%s(%lld) = %lld, want %lld", name.c_str(), vals[i], got[i], op.ref(vals[i]));
    }
  }
  KT_LAUNCH("kiln_unary_logical_not_i64", bout.p, (const long long*)in.p, g, 0.0, 0.0);
  auto gb = bout.get();
  for (long long i = 0; i < n; ++i) KT_CHECK(gb[i] == (vals[i] == 0 ? 1 : 0), "logical_not(%lld)", vals[i]);

  std::vector<unsigned char> bv = {0, 1, 2, 255, 0};
  Buf<unsigned char> bin(bv), bo(bv.size());
  Geom gb5 = geom({5}, {{1}, {1}});
  KT_LAUNCH("kiln_unary_logical_not_bool", bo.p, (const unsigned char*)bin.p, gb5, 0.0, 0.0);
  auto got = bo.get();
  for (size_t i = 0; i < bv.size(); ++i) KT_CHECK(got[i] == (bv[i] == 0), "logical_not_bool(%d) = %d", bv[i], got[i]);

  std::vector<float> fv = {0.0f, -0.0f, 1.0f, NAN, -INFINITY};
  Buf<float> fin(fv);
  KT_LAUNCH("kiln_unary_logical_not_f32", bo.p, (const float*)fin.p, gb5, 0.0, 0.0);
  got = bo.get();
  const unsigned char want[] = {1, 1, 0, 0, 0};
  for (size_t i = 0; i < 5; ++i) KT_CHECK(got[i] == want[i], "logical_not_f32(%g) = %d", fv[i], got[i]);
  std::vector<double> dv = {0.0, 2.0, -0.0, NAN, 1e-300};
  Buf<double> din(dv);
  KT_LAUNCH("kiln_unary_logical_not_f64", bo.p, (const double*)din.p, gb5, 0.0, 0.0);
  got = bo.get();
  const unsigned char wantd[] = {1, 0, 1, 0, 0};
  for (size_t i = 0; i < 5; ++i) KT_CHECK(got[i] == wantd[i], "logical_not_f64(%g) = %d", dv[i], got[i]);
}

// ---- binary ---------------------------------------------------------------------------------

namespace {

// out [4,3,5] contiguous; a is [4,1,5] broadcast along dim 1; b is [3,5] broadcast along dim 0.
const Shape kOut = {4, 3, 5};
const Strides kA = {5, 0, 1}, kB = {0, 5, 1};

LD ref_pyrem(LD a, LD b) {
  LD r = fmodl(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

template <class T>
void run_binary_float(const char* suf) {
  std::vector<double> av = uniform(20, -6, 6), bv = uniform(15, -4, 4);
  av[0] = 0.0; av[1] = -0.0; av[2] = kInf; av[3] = kNaN; av[4] = -7.0; av[5] = 7.0; av[6] = 2.0;
  bv[0] = 0.0; bv[1] = 3.0; bv[2] = -3.0; bv[3] = kNaN; bv[4] = 0.5; bv[5] = 2.0; bv[6] = -kInf;
  for (int i = 7; i < 12; ++i) bv[i] = std::round(bv[i]);  // integral exponents for pow
  std::vector<T> a = cast_vec<T>(av), b = cast_vec<T>(bv);
  Buf<T> da(a), db(b), out(60);
  Buf<unsigned char> bout(60);
  Geom g = geom(kOut, {contiguous(kOut), kA, kB});
  struct Op {
    const char* name;
    std::function<LD(LD, LD)> ref;
    bool boolean;
  };
  auto nanmax = [](LD x, LD y) -> LD { return (std::isnan(x) || std::isnan(y)) ? (LD)NAN : (x > y ? x : y); };
  auto nanmin = [](LD x, LD y) -> LD { return (std::isnan(x) || std::isnan(y)) ? (LD)NAN : (x < y ? x : y); };
  std::vector<Op> ops = {
      {"add", [](LD x, LD y) { return x + y; }, false},
      {"sub", [](LD x, LD y) { return x - y; }, false},
      {"mul", [](LD x, LD y) { return x * y; }, false},
      {"div", [](LD x, LD y) { return x / y; }, false},
      {"pow", [](LD x, LD y) { return powl(x, y); }, false},
      {"maximum", nanmax, false},
      {"minimum", nanmin, false},
      {"remainder", ref_pyrem, false},
      {"eq", [](LD x, LD y) -> LD { return x == y; }, true},
      {"ne", [](LD x, LD y) -> LD { return x != y; }, true},
      {"lt", [](LD x, LD y) -> LD { return x < y; }, true},
      {"le", [](LD x, LD y) -> LD { return x <= y; }, true},
      {"gt", [](LD x, LD y) -> LD { return x > y; }, true},
      {"ge", [](LD x, LD y) -> LD { return x >= y; }, true},
      {"logical_and", [](LD x, LD y) -> LD { return x != 0 && y != 0; }, true},
      {"logical_or", [](LD x, LD y) -> LD { return x != 0 || y != 0; }, true},
  };
  for (const Op& op : ops) {
    std::string name = strf("kiln_binary_%s_%s", op.name, suf);
    if (op.boolean) KT_LAUNCH(name.c_str(), bout.p, (const T*)da.p, (const T*)db.p, g);
    else KT_LAUNCH(name.c_str(), out.p, (const T*)da.p, (const T*)db.p, g);
    auto got = out.get();
    auto gotb = bout.get();
    for_each_index(kOut, [&](long long i, const Shape& c) {
      const T x = a[offset_of(c, kA)], y = b[offset_of(c, kB)];
      const LD want = op.ref(x, y);
      if (op.boolean) {
        KT_CHECK(gotb[i] == (want != 0 ? 1 : 0), "%s(%g, %g) = %d", name.c_str(), (double)x, (double)y, gotb[i]);
      } else {
        KT_CHECK(close(got[i], (T)want, Tol<T>::rtol, Tol<T>::atol), "%s(%.9g, %.9g) = %.17g, want %.17g",
                 name.c_str(), (double)x, (double)y, (double)got[i], (double)(T)want);
      }
    });
  }
}

}  // namespace

KT_TEST(binary_float_broadcast) {
  run_binary_float<float>("f32");
  run_binary_float<double>("f64");
}

KT_TEST(binary_remainder_python_sign) {
  std::vector<double> a = {-7, 7, -7.5, 7.5, 6, -6}, b = {3, -3, 2, -2, 3, 3};
  std::vector<double> want = {2, -2, 0.5, -0.5, 0, 0};
  Buf<double> da(a), db(b), out(6);
  Geom g = geom({6}, {{1}, {1}, {1}});
  KT_LAUNCH("kiln_binary_remainder_f64", out.p, (const double*)da.p, (const double*)db.p, g);
  auto got = out.get();
  for (int i = 0; i < 6; ++i) KT_CHECK(got[i] == want[i], "%g %% %g = %g", a[i], b[i], got[i]);
  std::vector<long long> ia = {-7, 7, -7, 7, LLONG_MIN, 5}, ib = {3, -3, -3, 3, -1, 0};
  std::vector<long long> iwant = {2, -2, -1, 1, 0, 0};
  Buf<long long> ia_d(ia), ib_d(ib), iout(6);
  KT_LAUNCH("kiln_binary_remainder_i64", iout.p, (const long long*)ia_d.p, (const long long*)ib_d.p, g);
  auto igot = iout.get();
  for (int i = 0; i < 6; ++i) KT_CHECK(igot[i] == iwant[i], "%lld %% %lld = %lld", ia[i], ib[i], igot[i]);
}

KT_TEST(binary_int64_and_bool) {
  std::vector<long long> a = {5, -7, LLONG_MAX, LLONG_MIN, 0, 12, -12, 3, 2, -2, 1, -1, 9, 100, 7, -3, 4, 0, 6, 11};
  std::vector<long long> b = {3, -2, 0, -1, 5, 2, 7, -4, 63, 1, 0, 13, 64, -5, 2};
  Buf<long long> da(a), db(b), out(60);
  Buf<unsigned char> bout(60);
  Geom g = geom(kOut, {contiguous(kOut), kA, kB});
  auto wrap = [](__int128 v) { return static_cast<long long>(static_cast<unsigned long long>(v)); };
  auto ipow = [&](long long x, long long e) -> long long {
    if (e < 0) return x == 1 ? 1 : (x == -1 ? ((e & 1) ? -1 : 1) : 0);
    unsigned long long r = 1;
    for (long long k = 0; k < e; ++k) r *= static_cast<unsigned long long>(x);
    return static_cast<long long>(r);
  };
  struct Op {
    const char* name;
    std::function<long long(long long, long long)> ref;
    bool boolean;
  };
  std::vector<Op> ops = {
      {"add", [&](long long x, long long y) { return wrap(static_cast<__int128>(x) + y); }, false},
      {"sub", [&](long long x, long long y) { return wrap(static_cast<__int128>(x) - y); }, false},
      {"mul", [&](long long x, long long y) { return wrap(static_cast<__int128>(x) * y); }, false},
      {"div", [&](long long x, long long y) { return y == 0 ? 0 : wrap(static_cast<__int128>(x) / y); }, false},
      {"pow", ipow, false},
      {"maximum", [](long long x, long long y) { return std::max(x, y); }, false},
      {"minimum", [](long long x, long long y) { return std::min(x, y); }, false},
      {"remainder", [](long long x, long long y) -> long long {
         if (y == 0) return 0;
         __int128 r = static_cast<__int128>(x) % y;
         if (r != 0 && ((r < 0) != (y < 0))) r += y;
         return static_cast<long long>(r);
       }, false},
      {"eq", [](long long x, long long y) -> long long { return x == y; }, true},
      {"ne", [](long long x, long long y) -> long long { return x != y; }, true},
      {"lt", [](long long x, long long y) -> long long { return x < y; }, true},
      {"le", [](long long x, long long y) -> long long { return x <= y; }, true},
      {"gt", [](long long x, long long y) -> long long { return x > y; }, true},
      {"ge", [](long long x, long long y) -> long long { return x >= y; }, true},
      {"logical_and", [](long long x, long long y) -> long long { return x && y; }, true},
      {"logical_or", [](long long x, long long y) -> long long { return x || y; }, true},
  };
  for (const Op& op : ops) {
    std::string name = strf("kiln_binary_%s_i64", op.name);
    if (op.boolean) KT_LAUNCH(name.c_str(), bout.p, (const long long*)da.p, (const long long*)db.p, g);
    else KT_LAUNCH(name.c_str(), out.p, (const long long*)da.p, (const long long*)db.p, g);
    auto got = out.get();
    auto gotb = bout.get();
    for_each_index(kOut, [&](long long i, const Shape& c) {
      const long long x = a[offset_of(c, kA)], y = b[offset_of(c, kB)];
      const long long want = op.ref(x, y);
      if (op.boolean) KT_CHECK(gotb[i] == want, "%s(%lld, %lld) = %d", name.c_str(), x, y, gotb[i]);
      else KT_CHECK(got[i] == want, "%s(%lld, %lld) = %lld, want %lld", name.c_str(), x, y, got[i], want);
    });
  }

  // bool: any non-zero byte is true
  std::vector<unsigned char> ba = {0, 1, 2, 0}, bb = {0, 0, 1, 9};
  Buf<unsigned char> dba(ba), dbb(bb), bo(4);
  Geom g4 = geom({4}, {{1}, {1}, {1}});
  struct BOp {
    const char* name;
    std::function<bool(bool, bool)> ref;
  };
  std::vector<BOp> bops = {
      {"eq", [](bool x, bool y) { return x == y; }},        {"ne", [](bool x, bool y) { return x != y; }},
      {"lt", [](bool x, bool y) { return x < y; }},         {"le", [](bool x, bool y) { return x <= y; }},
      {"gt", [](bool x, bool y) { return x > y; }},         {"ge", [](bool x, bool y) { return x >= y; }},
      {"logical_and", [](bool x, bool y) { return x && y; }}, {"logical_or", [](bool x, bool y) { return x || y; }},
      {"maximum", [](bool x, bool y) { return x || y; }},   {"minimum", [](bool x, bool y) { return x && y; }},
  };
  for (const BOp& op : bops) {
    std::string name = strf("kiln_binary_%s_bool", op.name);
    KT_LAUNCH(name.c_str(), bo.p, (const unsigned char*)dba.p, (const unsigned char*)dbb.p, g4);
    auto got = bo.get();
    for (int i = 0; i < 4; ++i) {
      KT_CHECK(got[i] == (op.ref(ba[i] != 0, bb[i] != 0) ? 1 : 0), "%s(%d, %d) = %d", name.c_str(), ba[i], bb[i], got[i]);
    }
  }
}

KT_TEST(where_all_dtypes) {
  // cond [4,1,5] broadcast over dim 1; a [3,5] over dim 0; b a transposed [5,3] storage read
  // as [3,5]; out [4,3,5].
  const Shape shape = {4, 3, 5};
  std::vector<unsigned char> cond(20);
  for (int i = 0; i < 20; ++i) cond[i] = static_cast<unsigned char>((i * 7) % 3 == 0 ? 0 : (i % 2 ? 1 : 5));
  Buf<unsigned char> dc(cond);
  const Strides sc = {5, 0, 1}, sa = {0, 5, 1}, sb = {0, 1, 3};
  Geom g = geom(shape, {contiguous(shape), sc, sa, sb});
  auto run = [&](auto tag, const char* suf) {
    using T = decltype(tag);
    std::vector<T> a(15), b(15);
    for (int i = 0; i < 15; ++i) {
      a[i] = static_cast<T>(i + 1);
      b[i] = static_cast<T>(100 + i);
    }
    Buf<T> da(a), db(b), out(60);
    std::string name = strf("kiln_where_%s", suf);
    KT_LAUNCH(name.c_str(), out.p, (const unsigned char*)dc.p, (const T*)da.p, (const T*)db.p, g);
    auto got = out.get();
    for_each_index(shape, [&](long long i, const Shape& c) {
      const T want = cond[offset_of(c, sc)] ? a[offset_of(c, sa)] : b[offset_of(c, sb)];
      KT_CHECK(got[i] == want, "%s at %lld", name.c_str(), i);
    });
  };
  run(float(), "f32");
  run(double(), "f64");
  run((long long)0, "i64");
  run((unsigned char)0, "bool");
  run((unsigned short)0, "f16");
  run((unsigned short)0, "bf16");
}

// ---- casts ------------------------------------------------------------------------------------

namespace {

enum DT { F32, F64, I64, BOOL, F16, BF16 };
const char* kSuf[] = {"f32", "f64", "i64", "bool", "f16", "bf16"};
size_t dt_size(DT d) { return d == F32 ? 4 : (d == F64 || d == I64) ? 8 : d == BOOL ? 1 : 2; }

// Exact value of an encoding of a binary format with eb exponent and mb fraction bits.
LD decode_small(uint32_t bits, int eb, int mb) {
  const uint32_t sign = bits >> (eb + mb), exp = (bits >> mb) & ((1u << eb) - 1), frac = bits & ((1u << mb) - 1);
  const int bias = (1 << (eb - 1)) - 1;
  LD v;
  if (exp == (1u << eb) - 1) v = frac ? (LD)NAN : (LD)INFINITY;
  else if (exp == 0) v = ldexpl((LD)frac, 1 - bias - mb);
  else v = ldexpl((LD)(frac | (1u << mb)), (int)exp - bias - mb);
  return sign ? -v : v;
}

// Nearest encoding, ties to the even fraction, by searching all encodings: slow and obviously
// right. Overflow follows IEEE: at or beyond max + half an ulp gives infinity.
uint32_t encode_small(LD v, int eb, int mb) {
  const uint32_t sign_bit = 1u << (eb + mb);
  const uint32_t inf = ((1u << eb) - 1) << mb;
  if (std::isnan(v)) return 0xffffffffu;  // any NaN
  const uint32_t s = std::signbit(v) ? sign_bit : 0;
  const LD a = fabsl(v);
  const int bias = (1 << (eb - 1)) - 1;
  const LD max = decode_small(inf - 1, eb, mb);
  if (a >= max + ldexpl(1.0L, bias - mb - 1)) return s | inf;
  static std::vector<LD> table[2];  // decoded finite encodings, per format
  std::vector<LD>& t = table[eb == 5 ? 0 : 1];
  if (t.empty()) {
    for (uint32_t e = 0; e < inf; ++e) t.push_back(decode_small(e, eb, mb));
  }
  uint32_t best = 0;
  LD best_d = INFINITY;
  for (uint32_t e = 0; e < inf; ++e) {
    const LD d = fabsl(t[e] - a);
    if (d < best_d || (d == best_d && (e & 1) == 0)) {
      best = e;
      best_d = d;
    }
  }
  return s | best;
}

// Source values as exact long doubles, plus their encodings.
struct Src {
  std::vector<unsigned char> bytes;
  std::vector<LD> value;
};

template <class T>
void push(Src& s, T raw, LD v) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(&raw);
  s.bytes.insert(s.bytes.end(), p, p + sizeof(T));
  s.value.push_back(v);
}

Src source(DT d) {
  Src s;
  const double two63 = 9223372036854775808.0;
  switch (d) {
    case F32:
      for (float f : {0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 65504.0f, 65519.0f, 65520.0f, 1e5f, 6e-8f, 2.9e-8f,
                      1e-40f, 3.4e38f, INFINITY, -INFINITY, NAN, 2.5f, -2.5f, 1e20f, -1e20f, 9.3e18f,
                      -9.3e18f, 123456789.0f, 0.33333334f, -3.99f, 1.00390625f, 1.01171875f})
        push(s, f, (LD)f);
      break;
    case F64:
      for (double x : {0.0, -0.0, 1.0, -1.5, 1.0 + 0x1p-11, 1.0 + 3 * 0x1p-11, 0x1p-25, 3 * 0x1p-26,
                       1.0 + 0x1p-8, 1.0 + 3 * 0x1p-8, 1.0 + 0x1p-8 + 0x1p-40, 1e300, -1e300, two63,
                       -two63, two63 * 2, 1e-310, 65519.99, kNaN, -kInf, 3.14159265358979, -2.7})
        push(s, x, (LD)x);
      break;
    case I64:
      for (long long x : {0LL, 1LL, -1LL, 65504LL, 65520LL, (1LL << 53) + 1, LLONG_MAX, LLONG_MIN,
                          123456789012345LL, 2049LL, 2051LL, -2049LL, 257LL, 259LL, (1LL << 40) + 3})
        push(s, x, (LD)x);
      break;
    case BOOL:
      for (unsigned char b : {0, 1, 7}) push(s, b, (LD)(b != 0));
      break;
    case F16:
      for (uint16_t h : {0x0000, 0x8000, 0x3c00, 0xbc00, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00,
                         0x7d01, 0x5640, 0xc248, 0x0400})
        push(s, h, decode_small(h, 5, 10));
      break;
    case BF16:
      for (uint16_t h : {0x0000, 0x8000, 0x3f80, 0x7f7f, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x4049, 0xc2f7,
                         0x4780, 0x3e2b, 0x477f})
        push(s, h, decode_small(h, 8, 7));
      break;
  }
  return s;
}

// Checks one converted element; v is the exact source value.
void check_cast(DT from, DT to, LD v, const unsigned char* got, size_t idx) {
  const char* f = kSuf[from];
  const char* t = kSuf[to];
  switch (to) {
    case F32: {
      float g;
      memcpy(&g, got, 4);
      const float w = (float)v;
      KT_CHECK((std::isnan(w) && std::isnan(g)) || (memcmp(&g, &w, 4) == 0), "cast %s->%s #%zu (%Lg): got %.9g want %.9g", f, t, idx, v, g, w);
      break;
    }
    case F64: {
      double g;
      memcpy(&g, got, 8);
      const double w = (double)v;
      KT_CHECK((std::isnan(w) && std::isnan(g)) || (memcmp(&g, &w, 8) == 0), "cast %s->%s #%zu (%Lg): got %.17g want %.17g", f, t, idx, v, g, w);
      break;
    }
    case I64: {
      long long g;
      memcpy(&g, got, 8);
      long long w;
      if (std::isnan(v)) w = 0;
      else if (v >= 9223372036854775808.0L) w = LLONG_MAX;
      else if (v <= -9223372036854775808.0L) w = LLONG_MIN;
      else w = (long long)truncl(v);
      KT_CHECK(g == w, "cast %s->%s #%zu (%Lg): got %lld want %lld", f, t, idx, v, g, w);
      break;
    }
    case BOOL:
      KT_CHECK(got[0] == ((v != 0 || std::isnan(v)) ? 1 : 0), "cast %s->%s #%zu (%Lg): got %d", f, t, idx, v, got[0]);
      break;
    case F16:
    case BF16: {
      uint16_t g;
      memcpy(&g, got, 2);
      const int eb = to == F16 ? 5 : 8, mb = to == F16 ? 10 : 7;
      const uint32_t w = encode_small(v, eb, mb);
      if (w == 0xffffffffu) {
        const uint32_t em = ((1u << eb) - 1) << mb;
        KT_CHECK((g & em) == em && (g & ((1u << mb) - 1)) != 0, "cast %s->%s #%zu: NaN gave 0x%04x", f, t, idx, g);
      } else {
        KT_CHECK(g == w, "cast %s->%s #%zu (%.20Lg): got 0x%04x want 0x%04x", f, t, idx, v, g, w);
      }
      break;
    }
  }
}

}  // namespace

KT_TEST(cast_all_pairs) {
  for (int fi = 0; fi < 6; ++fi) {
    const DT from = static_cast<DT>(fi);
    Src s = source(from);
    const size_t n = s.value.size();
    // read the source in reverse through a negative stride, to cover that too
    void* in = nullptr;
    kiln_emu_malloc(dev(), s.bytes.size(), &in);
    kiln_emu_memcpy_htod(dev(), in, s.bytes.data(), s.bytes.size());
    for (int ti = 0; ti < 6; ++ti) {
      const DT to = static_cast<DT>(ti);
      void* out = nullptr;
      kiln_emu_malloc(dev(), n * dt_size(to), &out);
      const char* last = static_cast<const char*>(in) + (n - 1) * dt_size(from);
      Geom g = geom({(long long)n}, {{1}, {-1}});
      std::string name = strf("kiln_cast_%s_%s", kSuf[from], kSuf[to]);
      int rc = launch_cfg(name.c_str(), 2, 32, out, (const void*)last, g);
      KT_CHECK(rc == 0, "%s: %s", name.c_str(), kiln_emu_last_error());
      std::vector<unsigned char> got(n * dt_size(to));
      kiln_emu_memcpy_dtoh(dev(), got.data(), out, got.size());
      for (size_t i = 0; i < n; ++i) check_cast(from, to, s.value[n - 1 - i], &got[i * dt_size(to)], n - 1 - i);
      kiln_emu_free(dev(), out);
    }
    kiln_emu_free(dev(), in);
  }
}

KT_TEST(fill_strided_all_dtypes) {
  // Fill every other element of a [3,4] view of 24 elements: strides (8, 2).
  const Shape shape = {3, 4};
  Geom g = geom(shape, {{8, 2}});
  auto run = [&](auto tag, const char* suf, long long bits) {
    using T = decltype(tag);
    std::vector<T> init(24);
    memset(init.data(), 0x5A, init.size() * sizeof(T));
    Buf<T> buf(init);
    std::string name = strf("kiln_fill_%s", suf);
    KT_LAUNCH(name.c_str(), buf.p, g, bits);
    auto got = buf.get();
    T want;
    memcpy(&want, &bits, sizeof(T));
    for (int i = 0; i < 24; ++i) {
      const bool filled = i % 2 == 0 && i / 8 < 3;
      const T expect = filled ? want : init[i];
      KT_CHECK(memcmp(&got[i], &expect, sizeof(T)) == 0, "%s element %d", name.c_str(), i);
    }
  };
  run(float(), "f32", 0x3fc00000LL);                     // 1.5f
  run(double(), "f64", 0x400921FB54442D18LL);            // pi
  run((long long)0, "i64", -1234567890123456789LL);
  run((unsigned char)0, "bool", 1);
  run((unsigned short)0, "f16", 0x3c00);
  run((unsigned short)0, "bf16", 0xc2f7);
}
