# Warnings and sanitizers are applied per target, never through global flags.
function(rill_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                         -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                         -Woverloaded-virtual)
  rill_target_sanitize(${target})
endfunction()

# Sanitizers only (for targets that compile third-party peers that are not
# warning-clean under rill's flags).
function(rill_target_sanitize target)
  if(RILL_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${RILL_SANITIZE} -fno-omit-frame-pointer
                           -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${RILL_SANITIZE})
    if(RILL_SANITIZE MATCHES "thread")
      # TSan does not model atomic_thread_fence; the one fence pair that
      # matters (the overwrite seqlock) is documented in docs/memory_model.md
      # and checked by content in the overwrite stress test.
      target_compile_options(${target} PRIVATE -Wno-tsan)
    endif()
  endif()
endfunction()
