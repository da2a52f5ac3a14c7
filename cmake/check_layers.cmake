# Checks that every #include "..." of the library points down the layers
# (docs/architecture.md): a layer may include itself, the layers below it
# and the public headers (rill/...); the public headers include only public
# headers; the rill tool includes only public headers and its own files.
# Run as a CTest test:  cmake -DSOURCE_DIR=<repo> -P cmake/check_layers.cmake
# Prints every include that breaks the rule and fails when there is one.
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "check_layers: pass -DSOURCE_DIR=<the source tree>")
endif()

# The layers of src/, lowest first. Each may include the ones before it.
set(layers base codec ring log topic client)

set(violations 0)

# Reports each quoted include of `file` whose first path part is not in `allowed`
# (an include without a folder, a file of the same directory, is always allowed).
function(check_file file allowed)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]*)\".*" "\\1" target "${line}")
    if(NOT target MATCHES "/")
      continue()
    endif()
    string(REGEX REPLACE "/.*" "" top "${target}")
    list(FIND allowed "${top}" found)
    if(found EQUAL -1)
      file(RELATIVE_PATH shown "${SOURCE_DIR}" "${file}")
      message(STATUS "upward or sideways include: ${shown} includes \"${target}\" (allowed: ${allowed})")
      math(EXPR count "${violations} + 1")
      set(violations ${count} PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

set(below rill)
foreach(layer IN LISTS layers)
  list(APPEND below ${layer})
  file(GLOB_RECURSE files "${SOURCE_DIR}/src/${layer}/*.hpp" "${SOURCE_DIR}/src/${layer}/*.cpp")
  foreach(file IN LISTS files)
    check_file("${file}" "${below}")
  endforeach()
endforeach()

file(GLOB_RECURSE files "${SOURCE_DIR}/src/*")
foreach(file IN LISTS files)
  file(RELATIVE_PATH shown "${SOURCE_DIR}/src" "${file}")
  string(REGEX REPLACE "/.*" "" top "${shown}")
  list(FIND layers "${top}" found)
  if(found EQUAL -1)
    message(STATUS "src/${shown} is in no layer: add its folder to the list in cmake/check_layers.cmake")
    math(EXPR violations "${violations} + 1")
  endif()
endforeach()

file(GLOB_RECURSE files "${SOURCE_DIR}/include/rill/*.hpp")
foreach(file IN LISTS files)
  check_file("${file}" "rill")
endforeach()

file(GLOB files "${SOURCE_DIR}/tools/*.hpp" "${SOURCE_DIR}/tools/*.cpp")
foreach(file IN LISTS files)
  if(file MATCHES "_test[^/]*$")
    continue()  # the tool's tests may use test helpers and internals
  endif()
  check_file("${file}" "rill")
endforeach()

if(violations GREATER 0)
  message(FATAL_ERROR "check_layers: ${violations} include(s) break the layering")
endif()
message(STATUS "check_layers: every include points down")
