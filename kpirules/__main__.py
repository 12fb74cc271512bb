from kpirules.cli.main import main

main()
