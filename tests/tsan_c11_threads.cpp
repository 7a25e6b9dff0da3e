// ThreadSanitizer builds only (FILINGD_SANITIZER=thread): C11 <threads.h> routed through the
// pthread functions that TSan intercepts.
//
// librdkafka creates its threads with thrd_create and synchronises them with mtx_*, cnd_* and
// call_once.
// glibc (2.34+) implements those by calling its internal pthread functions directly, past TSan's
// interceptors: a thread made by thrd_create is unknown to TSan and crashes it at its first
// intercepted call (SEGV in the malloc interceptor), and its locks are invisible, so every hand-off
// between librdkafka's threads would look like a race. Defining the C11 functions in the
// executable interposes them for librdkafka.so (the dynamic linker resolves its references to
// the executable first), so its threads and locks are seen like any others. The C11 types are
// glibc's pthread types under other names (same size and layout), which is how glibc itself
// implements them. Nothing here is compiled into a normal or ASan build.
#include <errno.h>
#include <pthread.h>
#include <threads.h>

#include <cstdint>
#include <ctime>

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));
static_assert(sizeof(thrd_t) == sizeof(pthread_t));
static_assert(sizeof(once_flag) == sizeof(pthread_once_t));

namespace {

int result_of(int rc) {
  switch (rc) {
    case 0:
      return thrd_success;
    case ETIMEDOUT:
      return thrd_timedout;
    case EBUSY:
      return thrd_busy;
    case ENOMEM:
      return thrd_nomem;
    default:
      return thrd_error;
  }
}

// librdkafka often initialises a lock inside an object on one thread and hands the object to
// another through its own atomics, which TSan cannot see; the lock's first use there would look
// like a race with its initialisation. Inside the lock functions TSan therefore checks no memory
// accesses (the lock words belong to librdkafka), but still records the ordering they provide.
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
struct LockWordsUnchecked {
  LockWordsUnchecked() { __tsan_ignore_thread_begin(); }
  ~LockWordsUnchecked() { __tsan_ignore_thread_end(); }
  LockWordsUnchecked(const LockWordsUnchecked&) = delete;
  LockWordsUnchecked& operator=(const LockWordsUnchecked&) = delete;
};

pthread_mutex_t* m(mtx_t* x) { return reinterpret_cast<pthread_mutex_t*>(x); }
pthread_cond_t* c(cnd_t* x) { return reinterpret_cast<pthread_cond_t*>(x); }

struct Start {
  thrd_start_t func;
  void* arg;
};

void* trampoline(void* p) {
  const Start s = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.func(s.arg)));
}

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* s = new Start{func, arg};
  pthread_t t;
  const int rc = pthread_create(&t, nullptr, trampoline, s);
  if (rc != 0) {
    delete s;
    return result_of(rc);
  }
  *thr = t;
  return thrd_success;
}

int thrd_join(thrd_t thr, int* res) {
  void* r = nullptr;
  const int rc = pthread_join(thr, &r);
  if (rc == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<std::intptr_t>(r));
  return result_of(rc);
}

int thrd_detach(thrd_t thr) { return result_of(pthread_detach(thr)); }

int mtx_init(mtx_t* x, int type) {
  const LockWordsUnchecked unchecked;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(m(x), &attr);
  pthread_mutexattr_destroy(&attr);
  return result_of(rc);
}
int mtx_lock(mtx_t* x) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_mutex_lock(m(x)));
}
int mtx_trylock(mtx_t* x) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_mutex_trylock(m(x)));
}
int mtx_timedlock(mtx_t* __restrict x, const struct timespec* __restrict ts) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_mutex_timedlock(m(x), ts));
}
int mtx_unlock(mtx_t* x) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_mutex_unlock(m(x)));
}
void mtx_destroy(mtx_t* x) {
  const LockWordsUnchecked unchecked;
  pthread_mutex_destroy(m(x));
}

int cnd_init(cnd_t* x) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_cond_init(c(x), nullptr));
}
int cnd_signal(cnd_t* x) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_cond_signal(c(x)));
}
int cnd_broadcast(cnd_t* x) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_cond_broadcast(c(x)));
}
int cnd_wait(cnd_t* x, mtx_t* y) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_cond_wait(c(x), m(y)));
}
int cnd_timedwait(cnd_t* __restrict x, mtx_t* __restrict y, const struct timespec* __restrict ts) {
  const LockWordsUnchecked unchecked;
  return result_of(pthread_cond_timedwait(c(x), m(y), ts));
}
void cnd_destroy(cnd_t* x) {
  const LockWordsUnchecked unchecked;
  pthread_cond_destroy(c(x));
}

void call_once(once_flag* flag, void (*func)(void)) {
  const LockWordsUnchecked unchecked;
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}

}  // extern "C"
