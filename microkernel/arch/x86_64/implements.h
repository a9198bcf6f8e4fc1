// implements.h: included last by each arch/x86_64 .cpp that implements an
// arch/interface/ header. From here on a function defined at namespace
// scope without a declaration before it is an error, so a definition whose
// signature drifted from its interface declaration (which would otherwise
// just be a new overload, found missing only at link time or not at all)
// stops the build. Helpers go in an anonymous namespace or are static.
#pragma once

#pragma GCC diagnostic error "-Wmissing-declarations"
