from sculpt.cli import main

raise SystemExit(main())
