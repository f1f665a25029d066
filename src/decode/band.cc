#include "decode/event.h"

namespace mpe::decode {

std::string_view BandFromFrequency(int32_t mhz, bool present) {
  if (!present || mhz <= 0) return "unknown";
  if (mhz < 3000) return "2.4";
  if (mhz < 5925) return "5";
  if (mhz <= 7125) return "6";
  return "unknown";
}

const char* ReasonName(DecodeError e) {
  switch (e) {
    case DecodeError::kNone:
      return "none";
    case DecodeError::kInvalidJson:
      return "invalid_json";
    case DecodeError::kNotObject:
      return "not_object";
    case DecodeError::kInvalidData:
      return "invalid_data";
    case DecodeError::kMissingField:
      return "missing_field";
    case DecodeError::kWrongType:
      return "wrong_type";
    case DecodeError::kBinaryFrame:
      return "binary_frame";
    case DecodeError::kFrameTooLarge:
      return "frame_too_large";
    case DecodeError::kUnknownChannel:
      return "unknown_channel";
    case DecodeError::kCount:
      break;
  }
  return "unknown";
}

}  // namespace mpe::decode
