/* SPDX-License-Identifier: BSD-3-Clause */
#include "pipeline/tables.h"

struct pl_neigh *pl_neigh;
struct pl_tables *pl_tables_cur;
