#pragma once
// Base64 (RFC 4648, section 4: the standard alphabet, '=' padding, no line breaks): how run
// archives carry raw float32 bytes inside JSON, exactly and about 4/3 of their size.

#include <string>
#include <string_view>

namespace ferlab::core {

/// The base64 text of `bytes`.
std::string base64Encode(std::string_view bytes);

/// The bytes of base64 `text`. Throws DataError "<origin>: ..." for a character outside the
/// alphabet, a length that is not a multiple of 4, or misplaced padding.
std::string base64Decode(std::string_view text, const std::string& origin);

}  // namespace ferlab::core
