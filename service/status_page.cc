#include "service/status_page.h"

namespace herald::service {

// Placeholder until the real page lands.
std::string_view StatusPageHtml() {
  return "<!doctype html><title>herald</title><p>herald status: see "
         "<a href=\"/stats.json\">/stats.json</a></p>\n";
}

}  // namespace herald::service
