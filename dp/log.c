/* SPDX-License-Identifier: BSD-3-Clause */
#include "dp/log.h"

RTE_LOG_REGISTER_DEFAULT(kdp_logtype, INFO);
