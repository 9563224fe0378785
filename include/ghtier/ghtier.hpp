// Umbrella header of ghtier's C++ API.
#pragma once

#include "ghtier/error.hpp"
#include "ghtier/link_model.hpp"
#include "ghtier/log.hpp"
#include "ghtier/memory_mode.hpp"
#include "ghtier/platform.hpp"
#include "ghtier/version.hpp"
