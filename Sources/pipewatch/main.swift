Pipewatch.main()
