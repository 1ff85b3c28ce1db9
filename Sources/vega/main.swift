import Foundation
import VegaCLI

exit(await VegaCommandLine.run())
