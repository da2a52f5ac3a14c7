// A minimal RAII layer over libzmq's C API for the ZeroMQ peers.
//
// Sockets are created and connected by the thread that sets up a run and
// then used by exactly one worker thread; run_threads' start flag
// (release/acquire) is the full barrier ZeroMQ asks for when a socket moves
// between threads.
#pragma once

#include <zmq.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace rill::bench::zmq {

[[noreturn]] inline void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + zmq_strerror(zmq_errno()));
}

class Context {
 public:
  Context() : handle_(zmq_ctx_new()) {
    if (handle_ == nullptr) fail("zmq_ctx_new");
  }
  ~Context() { zmq_ctx_term(handle_); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  void* get() const noexcept { return handle_; }

 private:
  void* handle_;
};

class Socket {
 public:
  Socket(const Context& context, int type) : handle_(zmq_socket(context.get(), type)) {
    if (handle_ == nullptr) fail("zmq_socket");
    set(ZMQ_LINGER, 0);
  }
  ~Socket() { zmq_close(handle_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  void set(int option, int value) {
    if (zmq_setsockopt(handle_, option, &value, sizeof(value)) != 0) fail("zmq_setsockopt");
  }
  void subscribe_all() {
    if (zmq_setsockopt(handle_, ZMQ_SUBSCRIBE, "", 0) != 0) fail("ZMQ_SUBSCRIBE");
  }
  void bind(const std::string& endpoint) {
    if (zmq_bind(handle_, endpoint.c_str()) != 0) fail("zmq_bind " + endpoint);
  }
  void connect(const std::string& endpoint) {
    if (zmq_connect(handle_, endpoint.c_str()) != 0) fail("zmq_connect " + endpoint);
  }
  // Blocking send (up to the socket's ZMQ_SNDTIMEO); retried on EINTR.
  // Returns false on timeout or any other error.
  [[nodiscard]] bool send(const void* data, std::size_t size) noexcept {
    for (;;) {
      if (zmq_send(handle_, data, size, 0) >= 0) return true;
      if (zmq_errno() != EINTR) return false;
    }
  }
  // Blocking receive (up to the socket's ZMQ_RCVTIMEO); returns the size of
  // the message, or -1 on timeout or error.
  [[nodiscard]] int receive(void* data, std::size_t capacity) noexcept {
    for (;;) {
      const int n = zmq_recv(handle_, data, capacity, 0);
      if (n >= 0 || zmq_errno() != EINTR) return n;
    }
  }

 private:
  void* handle_;
};

// A fresh inproc endpoint name per run, so runs never see each other.
inline std::string inproc_endpoint(const char* prefix) {
  static std::atomic<int> counter{0};
  return std::string("inproc://") + prefix + "-" +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace rill::bench::zmq
