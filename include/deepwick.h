/* deepwick: infinite-width limits of random neural networks, checked against finite networks.
 *
 * The umbrella header: one header per module under deepwick/, each mirroring its src/ folder. Every public name is dw_<module>_<verb>; every call that can fail returns a dw_status and
 * leaves a message for dw_error_message(). The library never prints and never exits.
 * Conventions and formulas: docs/theory.md (section numbers are quoted beside each module).
 * Arrays are row-major float64 (C order) throughout.
 */
#ifndef DEEPWICK_H
#define DEEPWICK_H

#include "deepwick/core.h"
#include "deepwick/io.h"
#include "deepwick/act.h"
#include "deepwick/net.h"
#include "deepwick/kernels.h"
#include "deepwick/sample.h"
#include "deepwick/spectrum.h"
#include "deepwick/wick.h"
#include "deepwick/sig.h"
#include "deepwick/finite.h"
#include "deepwick/predict.h"

#endif /* DEEPWICK_H */
