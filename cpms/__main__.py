from cpms.cli import main

main()
