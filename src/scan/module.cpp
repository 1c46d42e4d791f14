// lockhound-scan.so's entry point (scan/module.h).
#include "scan/module.h"

#include <memory>

namespace {
const lockhound::scan::ScanModule kModule = {
    LOCKHOUND_VERSION,
    lockhound::scan::module_layout(),
    &lockhound::scan::run_scan,
    &lockhound::scan::scan_commands,
};
}  // namespace

extern "C" const lockhound::scan::ScanModule* lockhound_scan_module() { return &kModule; }

// This object is the first the module is linked from, and it is built with RTTI. A template's
// vtable that several objects instantiate is taken from the first that has it, and the clang half
// (extract*.cpp, scan.cpp) is built without RTTI: its copies have no type_info, which typeid and
// UBSan's vptr check read in the analysis (built with RTTI). std::shared_ptr's control block is
// such a vtable; instantiated here, the module's copy is the one with type_info. (Not exported:
// module.map.)
std::shared_ptr<int> lockhound_scan_module_rtti_anchor() { return std::make_shared<int>(0); }
