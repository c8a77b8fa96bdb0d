#pragma once

#include <string_view>

namespace herald {

// Strict UTF-8 check (Unicode Table 3-7, RFC 3629): no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
// sequences. Used by the frame parser (close reasons) and the validator
// (every string a backend sends). Thread-safe (pure).
bool IsValidUtf8(std::string_view s);

}  // namespace herald
