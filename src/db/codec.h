// The evidence a database keeps as text: an edge's two acquisitions and a finding's facts, as
// compact JSON (docs/database.md, "evidence and finding columns"). A finding's words and
// signature are not stored: decode_finding derives them again (core/voice.h), so a finding read
// back reads as this lockhound words it. Written by this lockhound and
// read back by it; a column that is not what encode_* wrote (a damaged or hand-edited file) is
// refused, never half-read: decode_* never throw and return false with the reason.
#pragma once

#include <string>
#include <string_view>

#include "core/finding.h"
#include "core/types.h"

namespace lockhound::db {

std::string encode_evidence(const Edge& e);
// Fills from_site, to_site, dep and gates of `e` (from/to are the edge's columns).
bool decode_evidence(std::string_view text, Edge& e, std::string& error);

std::string encode_finding(const Finding& f);
bool decode_finding(std::string_view text, Finding& f, std::string& error);

// Names <-> values of core's enums; false for a name this lockhound does not know.
bool finding_type_from_name(std::string_view name, FindingType& t);
bool lock_kind_from_name(std::string_view name, LockKind& k);

}  // namespace lockhound::db
