@_exported import PipewatchTestSupport

let repositoryRoot = PipewatchExecutable.repositoryRoot
