// No code: this target carries libSVQRuntime.so's export list, as linker settings (Package.swift).
