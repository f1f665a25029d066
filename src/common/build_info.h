#pragma once

namespace mpe::common {

// The git revision the build was configured from ("unknown" outside a checkout). Defined in a
// file CMake generates (src/common/build_info.cc.in), so a new revision recompiles that file
// only.
const char* Revision();

}  // namespace mpe::common
