# cmake -DIN=status_page.html -DOUT=status_page.cc -DMAX_BYTES=N -P embed_status_page.cmake
# Writes a .cc defining herald::service::StatusPageHtml() (service/
# status_page.h) whose bytes are exactly those of IN. Fails when IN is
# empty or larger than MAX_BYTES: the page must stay small.
file(SIZE "${IN}" size)
if(size EQUAL 0 OR size GREATER MAX_BYTES)
  message(FATAL_ERROR "${IN}: ${size} bytes; the status page must be 1..${MAX_BYTES}")
endif()
file(READ "${IN}" hex HEX)
# 32 bytes a line, each as '\xNN'.
string(REGEX REPLACE "(................................................................)" "\\1\n" hex "${hex}")
set(bs "\\")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'${bs}${bs}x\\1'," hex "${hex}")
file(WRITE "${OUT}.tmp" "// Generated from service/status_page.html by service/embed_status_page.cmake.
// Do not edit: edit the .html.
#include \"service/status_page.h\"

namespace herald::service {
namespace {

constexpr char kStatusPage[] = {
${hex}
};

}  // namespace

std::string_view StatusPageHtml() {
  return std::string_view(kStatusPage, sizeof(kStatusPage));
}

}  // namespace herald::service
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
