// im2col / col2im and 2-D pooling against direct host loops.
#include <algorithm>

#include "kiln_test.h"

using namespace kt;
using LD = long double;

namespace {

struct Conv {
  long long n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw;
  long long oh(bool ceil_mode = false) const { return out_size(h, kh, sh, ph, dh, ceil_mode); }
  long long ow(bool ceil_mode = false) const { return out_size(w, kw, sw, pw, dw, ceil_mode); }
  static long long out_size(long long x, long long k, long long s, long long p, long long d, bool ceil_mode) {
    const long long span = x + 2 * p - d * (k - 1) - 1;
    long long o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // PyTorch: in ceil mode the last window must start inside the image or left padding
    if (ceil_mode && (o - 1) * s >= x + p) --o;
    return o;
  }
};

const Conv kConvs[] = {
    {2, 3, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1},
    {1, 2, 9, 8, 3, 2, 2, 3, 1, 0, 2, 1},
    {2, 1, 5, 5, 2, 2, 2, 2, 0, 0, 1, 1},
    {1, 4, 6, 7, 1, 1, 1, 1, 0, 0, 1, 1},
};

template <class T>
void run_im2col(const Conv& k, const char* suf) {
  const long long OH = k.oh(), OW = k.ow(), K = k.c * k.kh * k.kw, L = OH * OW;
  std::vector<T> im = cast_vec<T>(uniform(k.n * k.c * k.h * k.w, -2, 2));
  Buf<T> dim(im), dcol(k.n * K * L);
  const double pad = -7.5;
  std::string name = strf("kiln_im2col_%s", suf);
  KT_LAUNCH(name.c_str(), dcol.p, (const T*)dim.p, k.n, k.c, k.h, k.w, k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, k.dh, k.dw, OH, OW, pad);
  auto col = dcol.get();
  for (long long n = 0; n < k.n; ++n)
    for (long long c = 0; c < k.c; ++c)
      for (long long i = 0; i < k.kh; ++i)
        for (long long j = 0; j < k.kw; ++j)
          for (long long y = 0; y < OH; ++y)
            for (long long x = 0; x < OW; ++x) {
              const long long iy = y * k.sh - k.ph + i * k.dh, ix = x * k.sw - k.pw + j * k.dw;
              const T want = (iy >= 0 && iy < k.h && ix >= 0 && ix < k.w) ? im[((n * k.c + c) * k.h + iy) * k.w + ix] : (T)pad;
              const long long at = (n * K + (c * k.kh + i) * k.kw + j) * L + y * OW + x;
              KT_CHECK(col[at] == want, "%s at %lld", name.c_str(), at);
            }
  // col2im is the adjoint of im2col: <im2col(im), cols> == <im, col2im(cols)> (with zero pad)
  std::vector<T> cols = cast_vec<T>(uniform(k.n * K * L, -1, 1));
  Buf<T> dcols(cols), dback(im.size());
  name = strf("kiln_col2im_%s", suf);
  KT_LAUNCH(name.c_str(), dback.p, (const T*)dcols.p, k.n, k.c, k.h, k.w, k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, k.dh, k.dw, OH, OW);
  auto back = dback.get();
  std::vector<LD> want(im.size(), 0);
  for (long long n = 0; n < k.n; ++n)
    for (long long c = 0; c < k.c; ++c)
      for (long long i = 0; i < k.kh; ++i)
        for (long long j = 0; j < k.kw; ++j)
          for (long long y = 0; y < OH; ++y)
            for (long long x = 0; x < OW; ++x) {
              const long long iy = y * k.sh - k.ph + i * k.dh, ix = x * k.sw - k.pw + j * k.dw;
              if (iy >= 0 && iy < k.h && ix >= 0 && ix < k.w)
                want[((n * k.c + c) * k.h + iy) * k.w + ix] += cols[(n * K + (c * k.kh + i) * k.kw + j) * L + y * OW + x];
            }
  for (size_t i = 0; i < im.size(); ++i) KT_CHECK(close(back[i], (T)want[i], Tol<T>::rtol * 4, Tol<T>::atol), "%s at %zu", name.c_str(), i);
}

template <class T>
void run_pools(const Conv& k, bool ceil_mode, const char* suf) {
  const long long OH = k.oh(ceil_mode), OW = k.ow(ceil_mode);
  std::vector<T> in = cast_vec<T>(uniform(k.n * k.c * k.h * k.w, -3, 3));
  for (size_t i = 0; i < in.size(); i += 5) in[i] = (T)1.25;  // ties
  if (in.size() > 11) in[11] = NAN;
  if (in.size() > 13) in[13] = NAN;   // two NaNs may share a window: the first wins
  if (in.size() > 40) in[40] = -INFINITY;
  Buf<T> din(in), out(k.n * k.c * OH * OW), gin(in.size());
  Buf<long long> idx(k.n * k.c * OH * OW);
  std::string name = strf("kiln_maxpool2d_fwd_%s", suf);
  KT_LAUNCH(name.c_str(), out.p, idx.p, (const T*)din.p, k.n, k.c, k.h, k.w, k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, k.dh, k.dw, OH, OW);
  auto got = out.get();
  auto gi = idx.get();
  std::vector<T> gout = cast_vec<T>(uniform(got.size(), -1, 1));
  std::vector<LD> want_grad(in.size(), 0);
  for (long long p = 0; p < k.n * k.c; ++p)
    for (long long y = 0; y < OH; ++y)
      for (long long x = 0; x < OW; ++x) {
        // Backend.maxPool2d: the window as im2col with -inf padding, then the first maximum,
        // a NaN beating every number and the first NaN winning
        std::vector<T> window;
        for (long long i = 0; i < k.kh; ++i)
          for (long long j = 0; j < k.kw; ++j) {
            const long long iy = y * k.sh - k.ph + i * k.dh, ix = x * k.sw - k.pw + j * k.dw;
            const bool inside = iy >= 0 && iy < k.h && ix >= 0 && ix < k.w;
            window.push_back(inside ? in[p * k.h * k.w + iy * k.w + ix] : (T)-INFINITY);
          }
        long long bi = 0;
        for (size_t w = 1; w < window.size(); ++w) {
          if (std::isnan((double)window[bi])) break;
          if (std::isnan((double)window[w]) || window[w] > window[bi]) bi = static_cast<long long>(w);
        }
        const T best = window[bi];
        const long long o = (p * OH + y) * OW + x;
        KT_CHECK(gi[o] == bi && close(got[o], best, 0, 0), "%s out %lld: (%g, %lld) want (%g, %lld)", name.c_str(), o, (double)got[o], gi[o], (double)best, bi);
        const long long iy = y * k.sh - k.ph + (bi / k.kw) * k.dh, ix = x * k.sw - k.pw + (bi % k.kw) * k.dw;
        if (iy >= 0 && iy < k.h && ix >= 0 && ix < k.w) want_grad[p * k.h * k.w + iy * k.w + ix] += gout[o];
      }
  Buf<T> dgout(gout);
  name = strf("kiln_maxpool2d_bwd_%s", suf);
  KT_LAUNCH(name.c_str(), gin.p, (const T*)dgout.p, (const long long*)idx.p, k.n, k.c, k.h, k.w, k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, k.dh, k.dw, OH, OW);
  auto gg = gin.get();
  for (size_t i = 0; i < in.size(); ++i) KT_CHECK(close(gg[i], (T)want_grad[i], Tol<T>::rtol * 4, Tol<T>::atol), "%s at %zu", name.c_str(), i);

  // average pooling has no dilation; padding at most half the kernel, as PyTorch requires
  if (k.dh != 1 || k.dw != 1 || 2 * k.ph > k.kh || 2 * k.pw > k.kw) return;
  for (long long include_pad : {0LL, 1LL}) {
    for (long long divisor : {0LL, 3LL}) {
      name = strf("kiln_avgpool2d_fwd_%s", suf);
      KT_LAUNCH(name.c_str(), out.p, (const T*)din.p, k.n, k.c, k.h, k.w, k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, OH, OW, include_pad, divisor);
      got = out.get();
      std::vector<LD> wg(in.size(), 0);
      for (long long p = 0; p < k.n * k.c; ++p)
        for (long long y = 0; y < OH; ++y)
          for (long long x = 0; x < OW; ++x) {
            long long y0 = y * k.sh - k.ph, x0 = x * k.sw - k.pw;
            long long y1 = std::min(y0 + k.kh, k.h + k.ph), x1 = std::min(x0 + k.kw, k.w + k.pw);
            const long long padded = (y1 - y0) * (x1 - x0);
            y0 = std::max(y0, 0LL);
            x0 = std::max(x0, 0LL);
            y1 = std::min(y1, k.h);
            x1 = std::min(x1, k.w);
            const long long div = divisor ? divisor : (include_pad ? padded : (y1 - y0) * (x1 - x0));
            LD s = 0;
            for (long long iy = y0; iy < y1; ++iy)
              for (long long ix = x0; ix < x1; ++ix) s += in[p * k.h * k.w + iy * k.w + ix];
            const long long o = (p * OH + y) * OW + x;
            KT_CHECK(close(got[o], (T)(s / div), Tol<T>::rtol * 4, Tol<T>::atol), "%s(pad %lld, div %lld) out %lld: %g want %Lg", name.c_str(), include_pad, divisor, o, (double)got[o], s / div);
            for (long long iy = y0; iy < y1; ++iy)
              for (long long ix = x0; ix < x1; ++ix) wg[p * k.h * k.w + iy * k.w + ix] += (LD)gout[o] / div;
          }
      name = strf("kiln_avgpool2d_bwd_%s", suf);
      KT_LAUNCH(name.c_str(), gin.p, (const T*)dgout.p, k.n, k.c, k.h, k.w, k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, OH, OW, include_pad, divisor);
      gg = gin.get();
      for (size_t i = 0; i < in.size(); ++i) KT_CHECK(close(gg[i], (T)wg[i], Tol<T>::rtol * 8, Tol<T>::atol), "%s at %zu: %g want %Lg", name.c_str(), i, (double)gg[i], wg[i]);
    }
  }
}

}  // namespace

KT_TEST(im2col_col2im) {
  for (const Conv& k : kConvs) {
    run_im2col<float>(k, "f32");
    run_im2col<double>(k, "f64");
  }
}

KT_TEST(max_and_avg_pool) {
  for (const Conv& k : kConvs) {
    for (bool ceil_mode : {false, true}) {
      run_pools<float>(k, ceil_mode, "f32");
      run_pools<double>(k, ceil_mode, "f64");
    }
  }
}
