from cello.cli import main

main()
