// lockhound-scan.so's entry point (scan/module.h).
#include "scan/module.h"

namespace {
const lockhound::scan::ScanModule kModule = {
    LOCKHOUND_VERSION,
    lockhound::scan::module_layout(),
    &lockhound::scan::run_scan,
    &lockhound::scan::scan_commands,
};
}  // namespace

extern "C" const lockhound::scan::ScanModule* lockhound_scan_module() { return &kModule; }
