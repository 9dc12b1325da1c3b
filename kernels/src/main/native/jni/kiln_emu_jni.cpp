// JNI binding of the emulated device for dev.kiln.kernels.EmulatedDevice. Failures become
// dev.kiln.kernels.EmulatorException(code, blas, message).
#include <jni.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dev_kiln_kernels_EmulatorNative.h"
#include "kiln_emu_api.h"

namespace {

KilnEmuDevice* dev_of(jlong h) { return reinterpret_cast<KilnEmuDevice*>(static_cast<intptr_t>(h)); }
void* ptr_of(jlong p) { return reinterpret_cast<void*>(static_cast<intptr_t>(p)); }

void throw_emu(JNIEnv* env, int code, bool blas, const std::string& msg) {
  jclass cls = env->FindClass("dev/kiln/kernels/EmulatorException");
  if (!cls) return;  // NoClassDefFoundError is pending
  jmethodID ctor = env->GetMethodID(cls, "<init>", "(IZLjava/lang/String;)V");
  if (!ctor) return;
  jstring jmsg = env->NewStringUTF(msg.c_str());
  if (!jmsg) return;
  jobject ex = env->NewObject(cls, ctor, static_cast<jint>(code), static_cast<jboolean>(blas), jmsg);
  if (ex) env->Throw(static_cast<jthrowable>(ex));
}

// Throws for a failed status; returns true when the call succeeded.
bool ok(JNIEnv* env, int rc, bool blas = false) {
  if (rc == 0) return true;
  throw_emu(env, rc, blas, kiln_emu_last_error());
  return false;
}

size_t element_size(jint type) {
  switch (type) {
    case 0: return 4;  // float
    case 1: return 8;  // double
    case 2: return 8;  // long
    case 3: return 1;  // byte
    case 4: return 2;  // short
    case 5: return 4;  // int
  }
  return 0;
}

size_t kind_size(char k) {
  switch (k) {
    case 'p': case 'l': case 'd': return 8;
    case 'i': case 'f': return 4;
    case 'G': return 336;
  }
  return 0;
}

std::string utf(JNIEnv* env, jstring s) {
  const char* c = env->GetStringUTFChars(s, nullptr);
  std::string out = c ? c : "";
  if (c) env->ReleaseStringUTFChars(s, c);
  return out;
}

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_dev_kiln_kernels_EmulatorNative_create(JNIEnv*, jclass, jlong cap) {
  return static_cast<jlong>(reinterpret_cast<intptr_t>(kiln_emu_device_create(static_cast<uint64_t>(cap))));
}

JNIEXPORT jlong JNICALL Java_dev_kiln_kernels_EmulatorNative_destroy(JNIEnv*, jclass, jlong d) {
  return static_cast<jlong>(kiln_emu_device_destroy(dev_of(d)));
}

JNIEXPORT jlong JNICALL Java_dev_kiln_kernels_EmulatorNative_malloc(JNIEnv* env, jclass, jlong d, jlong bytes) {
  if (bytes < 0) {
    throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, "malloc: negative size " + std::to_string(bytes));
    return 0;
  }
  void* p = nullptr;
  if (!ok(env, kiln_emu_malloc(dev_of(d), static_cast<uint64_t>(bytes), &p))) return 0;
  return static_cast<jlong>(reinterpret_cast<intptr_t>(p));
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_free(JNIEnv* env, jclass, jlong d, jlong p) {
  ok(env, kiln_emu_free(dev_of(d), ptr_of(p)));
}

// The device memory is host memory: after the range check, the JVM copies straight into it.
JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_toDevice(JNIEnv* env, jclass, jlong d, jlong dst,
                                                                     jobject array, jint type, jint off, jint len) {
  const uint64_t bytes = static_cast<uint64_t>(len) * element_size(type);
  if (len == 0) return;
  if (!ok(env, kiln_emu_check_range(dev_of(d), ptr_of(dst), bytes))) return;
  void* p = ptr_of(dst);
  switch (type) {
    case 0: env->GetFloatArrayRegion(static_cast<jfloatArray>(array), off, len, static_cast<jfloat*>(p)); break;
    case 1: env->GetDoubleArrayRegion(static_cast<jdoubleArray>(array), off, len, static_cast<jdouble*>(p)); break;
    case 2: env->GetLongArrayRegion(static_cast<jlongArray>(array), off, len, static_cast<jlong*>(p)); break;
    case 3: env->GetByteArrayRegion(static_cast<jbyteArray>(array), off, len, static_cast<jbyte*>(p)); break;
    case 4: env->GetShortArrayRegion(static_cast<jshortArray>(array), off, len, static_cast<jshort*>(p)); break;
    case 5: env->GetIntArrayRegion(static_cast<jintArray>(array), off, len, static_cast<jint*>(p)); break;
    default: throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, "copy: unknown array type");
  }
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_toHost(JNIEnv* env, jclass, jlong d, jlong src,
                                                                   jobject array, jint type, jint off, jint len) {
  const uint64_t bytes = static_cast<uint64_t>(len) * element_size(type);
  if (len == 0) return;
  if (!ok(env, kiln_emu_check_range(dev_of(d), ptr_of(src), bytes))) return;
  const void* p = ptr_of(src);
  switch (type) {
    case 0: env->SetFloatArrayRegion(static_cast<jfloatArray>(array), off, len, static_cast<const jfloat*>(p)); break;
    case 1: env->SetDoubleArrayRegion(static_cast<jdoubleArray>(array), off, len, static_cast<const jdouble*>(p)); break;
    case 2: env->SetLongArrayRegion(static_cast<jlongArray>(array), off, len, static_cast<const jlong*>(p)); break;
    case 3: env->SetByteArrayRegion(static_cast<jbyteArray>(array), off, len, static_cast<const jbyte*>(p)); break;
    case 4: env->SetShortArrayRegion(static_cast<jshortArray>(array), off, len, static_cast<const jshort*>(p)); break;
    case 5: env->SetIntArrayRegion(static_cast<jintArray>(array), off, len, static_cast<const jint*>(p)); break;
    default: throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, "copy: unknown array type");
  }
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_directToDevice(JNIEnv* env, jclass, jlong d, jlong dst,
                                                                           jobject buf, jlong off, jlong bytes) {
  char* base = static_cast<char*>(env->GetDirectBufferAddress(buf));
  if (!base || off < 0 || bytes < 0 || off + bytes > env->GetDirectBufferCapacity(buf)) {
    throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, "copy: not a direct buffer, or the range is outside it");
    return;
  }
  ok(env, kiln_emu_memcpy_htod(dev_of(d), ptr_of(dst), base + off, static_cast<uint64_t>(bytes)));
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_directToHost(JNIEnv* env, jclass, jlong d, jlong src,
                                                                         jobject buf, jlong off, jlong bytes) {
  char* base = static_cast<char*>(env->GetDirectBufferAddress(buf));
  if (!base || off < 0 || bytes < 0 || off + bytes > env->GetDirectBufferCapacity(buf)) {
    throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, "copy: not a direct buffer, or the range is outside it");
    return;
  }
  ok(env, kiln_emu_memcpy_dtoh(dev_of(d), base + off, ptr_of(src), static_cast<uint64_t>(bytes)));
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_deviceToDevice(JNIEnv* env, jclass, jlong d, jlong dst,
                                                                           jlong src, jlong bytes) {
  if (bytes < 0) {
    throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, "memcpy: negative size");
    return;
  }
  ok(env, kiln_emu_memcpy_dtod(dev_of(d), ptr_of(dst), ptr_of(src), static_cast<uint64_t>(bytes)));
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_memset(JNIEnv* env, jclass, jlong d, jlong p, jint value,
                                                                   jint elem, jlong count) {
  if (count < 0) {
    throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, "memset: negative count");
    return;
  }
  ok(env, kiln_emu_memset(dev_of(d), ptr_of(p), static_cast<uint32_t>(value), elem, static_cast<uint64_t>(count)));
}

// packed holds the arguments at 8-byte aligned slots, in the order of kinds (KernelArgs.packed).
JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_launch(JNIEnv* env, jclass, jlong d, jstring jname,
                                                                   jint gx, jint gy, jint gz, jint bx, jint by,
                                                                   jint bz, jint shared, jstring jkinds,
                                                                   jbyteArray jpacked) {
  const std::string name = utf(env, jname), kinds = utf(env, jkinds);
  const jsize n = env->GetArrayLength(jpacked);
  std::vector<unsigned char> packed(static_cast<size_t>(n) + 8);
  env->GetByteArrayRegion(jpacked, 0, n, reinterpret_cast<jbyte*>(packed.data()));
  std::vector<void*> args;
  size_t at = 0;
  for (char k : kinds) {
    const size_t sz = kind_size(k);
    if (sz == 0 || at + sz > static_cast<size_t>(n)) {
      throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, name + ": malformed arguments (" + kinds + ")");
      return;
    }
    args.push_back(packed.data() + at);
    at += (sz + 7) & ~size_t(7);
  }
  args.push_back(nullptr);
  if (gx <= 0 || gy <= 0 || gz <= 0 || bx <= 0 || by <= 0 || bz <= 0 || shared < 0) {
    throw_emu(env, KILN_EMU_ERROR_INVALID_VALUE, false, name + ": grid, block and shared memory must be positive");
    return;
  }
  const unsigned grid[3] = {static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz)};
  const unsigned block[3] = {static_cast<unsigned>(bx), static_cast<unsigned>(by), static_cast<unsigned>(bz)};
  ok(env, kiln_emu_launch(dev_of(d), name.c_str(), grid, block, static_cast<unsigned>(shared), kinds.c_str(),
                          args.data()));
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_sgemm(JNIEnv* env, jclass, jlong d, jint ta, jint tb, jint m,
                                                                  jint n, jint k, jfloat alpha, jlong a, jint lda,
                                                                  jlong sa, jlong b, jint ldb, jlong sb, jfloat beta,
                                                                  jlong c, jint ldc, jlong sc, jint batch) {
  ok(env,
     kiln_emu_sgemm_strided_batched(dev_of(d), ta, tb, m, n, k, alpha, static_cast<const float*>(ptr_of(a)), lda, sa,
                                    static_cast<const float*>(ptr_of(b)), ldb, sb, beta, static_cast<float*>(ptr_of(c)),
                                    ldc, sc, batch),
     true);
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_dgemm(JNIEnv* env, jclass, jlong d, jint ta, jint tb, jint m,
                                                                  jint n, jint k, jdouble alpha, jlong a, jint lda,
                                                                  jlong sa, jlong b, jint ldb, jlong sb, jdouble beta,
                                                                  jlong c, jint ldc, jlong sc, jint batch) {
  ok(env,
     kiln_emu_dgemm_strided_batched(dev_of(d), ta, tb, m, n, k, alpha, static_cast<const double*>(ptr_of(a)), lda, sa,
                                    static_cast<const double*>(ptr_of(b)), ldb, sb, beta,
                                    static_cast<double*>(ptr_of(c)), ldc, sc, batch),
     true);
}

JNIEXPORT jlong JNICALL Java_dev_kiln_kernels_EmulatorNative_stat(JNIEnv*, jclass, jlong d, jint which) {
  KilnEmuDevice* dev = dev_of(d);
  switch (which) {
    case 0: return static_cast<jlong>(kiln_emu_capacity(dev));
    case 1: return static_cast<jlong>(kiln_emu_allocated_bytes(dev));
    case 2: return static_cast<jlong>(kiln_emu_peak_bytes(dev));
    case 3: return static_cast<jlong>(kiln_emu_live_allocations(dev));
    case 4: return static_cast<jlong>(kiln_emu_total_allocations(dev));
  }
  return -1;
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_setCapacity(JNIEnv*, jclass, jlong d, jlong bytes) {
  kiln_emu_set_capacity(dev_of(d), static_cast<uint64_t>(bytes < 0 ? 0 : bytes));
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_resetPeak(JNIEnv*, jclass, jlong d) {
  kiln_emu_reset_peak(dev_of(d));
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_setSchedule(JNIEnv*, jclass, jint s, jlong seed) {
  kiln_emu_set_schedule(s, static_cast<uint64_t>(seed));
}

JNIEXPORT jint JNICALL Java_dev_kiln_kernels_EmulatorNative_schedule(JNIEnv*, jclass) { return kiln_emu_schedule(); }

JNIEXPORT jlong JNICALL Java_dev_kiln_kernels_EmulatorNative_scheduleSeed(JNIEnv*, jclass) {
  return static_cast<jlong>(kiln_emu_schedule_seed());
}

JNIEXPORT void JNICALL Java_dev_kiln_kernels_EmulatorNative_setWorkers(JNIEnv*, jclass, jint w) { kiln_emu_set_workers(w); }

JNIEXPORT jint JNICALL Java_dev_kiln_kernels_EmulatorNative_workers(JNIEnv*, jclass) { return kiln_emu_workers(); }

JNIEXPORT jlong JNICALL Java_dev_kiln_kernels_EmulatorNative_sharedPoisonBytes(JNIEnv*, jclass) {
  return static_cast<jlong>(kiln_emu_shared_poison_bytes());
}

JNIEXPORT jobjectArray JNICALL Java_dev_kiln_kernels_EmulatorNative_kernels(JNIEnv* env, jclass) {
  const int n = kiln_emu_kernel_count();
  jclass str = env->FindClass("java/lang/String");
  if (!str) return nullptr;
  jobjectArray out = env->NewObjectArray(2 * n, str, nullptr);
  if (!out) return nullptr;
  for (int i = 0; i < n; ++i) {
    jstring name = env->NewStringUTF(kiln_emu_kernel_name(i));
    jstring kinds = env->NewStringUTF(kiln_emu_kernel_kinds(i));
    if (!name || !kinds) return nullptr;
    env->SetObjectArrayElement(out, 2 * i, name);
    env->SetObjectArrayElement(out, 2 * i + 1, kinds);
    env->DeleteLocalRef(name);
    env->DeleteLocalRef(kinds);
  }
  return out;
}

}  // extern "C"
