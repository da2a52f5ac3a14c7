# Warnings and sanitizers are applied per target, never through global flags.
function(rill_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                         -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                         -Woverloaded-virtual -Wnull-dereference)
  rill_target_sanitize(${target})
endfunction()

# Sanitizers only (for targets that compile third-party peers that are not
# warning-clean under rill's flags).
function(rill_target_sanitize target)
  if(RILL_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${RILL_SANITIZE} -fno-omit-frame-pointer
                           -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${RILL_SANITIZE})
  endif()
endfunction()
