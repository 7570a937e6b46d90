// The `svq` command-line tool; its commands live in SVQCommandLine, where the tests can parse them.

import SVQCommandLine

SVQCommand.main()
