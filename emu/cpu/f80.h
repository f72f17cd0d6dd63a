#include "cpu.h"
