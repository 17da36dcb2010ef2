import sys

from benchmarks.tpch.run import main

sys.exit(main())
