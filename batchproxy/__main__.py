from batchproxy.entry import main

main()
