# cmake -DCOMMON=common.lua -DSCRIPTS=a.lua,b.lua -DOUT=cluster_scripts.h
#   -P embed_scripts.cmake
# Writes a header defining, in herald::service::cluster::scripts, one
# std::string_view per script: k<CamelCaseName> (open_session.lua ->
# kOpenSession) whose bytes are exactly COMMON's followed by the script's.
# Fails when a script is empty.
string(REPLACE "," ";" scripts "${SCRIPTS}")
file(READ "${COMMON}" common_hex HEX)
set(bs "\\")
set(body "")
foreach(script IN LISTS scripts)
  file(SIZE "${script}" size)
  if(size EQUAL 0)
    message(FATAL_ERROR "${script}: empty")
  endif()
  get_filename_component(stem "${script}" NAME_WE)
  # snake_case -> CamelCase.
  string(REPLACE "_" ";" words "${stem}")
  set(name "")
  foreach(word IN LISTS words)
    string(SUBSTRING "${word}" 0 1 first)
    string(SUBSTRING "${word}" 1 -1 rest)
    string(TOUPPER "${first}" first)
    string(APPEND name "${first}${rest}")
  endforeach()
  file(READ "${script}" hex HEX)
  set(hex "${common_hex}${hex}")
  # 16 bytes a line, each as '\xNN'.
  string(REGEX REPLACE "([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])" "\\1\n" hex "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'${bs}${bs}x\\1'," hex "${hex}")
  string(APPEND body "
// common.lua + ${stem}.lua
inline constexpr char k${name}Bytes[] = {
${hex}
};
inline constexpr std::string_view k${name}(k${name}Bytes,
                                           sizeof(k${name}Bytes));
")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from service/cluster/scripts/*.lua by
// service/cluster/embed_scripts.cmake. Do not edit: edit the .lua files.
#pragma once

#include <string_view>

namespace herald::service::cluster::scripts {
${body}
}  // namespace herald::service::cluster::scripts
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
