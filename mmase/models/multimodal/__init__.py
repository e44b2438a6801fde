# Copyright (c) mmase contributors. All rights reserved.
