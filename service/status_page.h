#pragma once

#include <string_view>

namespace herald::service {

// The admin port's status page (GET /): one self-contained HTML document
// (no external resources) that polls /stats.json and renders it.
std::string_view StatusPageHtml();

}  // namespace herald::service
