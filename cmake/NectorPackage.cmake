# The Debian package: `cpack -G DEB` in a release build directory makes nector_VERSION-1_ARCH.deb
# with the library, the headers, the CMake package, the pkg-config file, nector::testing, the
# `nector` command line and its man page (made from its --help by help2man). scripts/test
# builds it, checks it with lintian and builds the consumer project against what it holds.
find_program(GZIP gzip REQUIRED)

# /usr/share/doc/nector: the copyright file and a Debian changelog (compressed, as policy
# wants; -n: no name or time stamp, so the bytes do not change from build to build).
set(NECTOR_DOC_DIR ${CMAKE_CURRENT_BINARY_DIR}/package-doc)
string(TIMESTAMP NECTOR_PACKAGE_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${NECTOR_DOC_DIR}/changelog.Debian
     "nector (${PROJECT_VERSION}-1) unstable; urgency=medium\n\n"
     "  * Built from the nector sources; changelog.gz in /usr/share/doc/nector\n"
     "    lists the changes of this version.\n\n"
     " -- nector maintainers <nector@example.org>  ${NECTOR_PACKAGE_DATE}\n")
add_custom_command(OUTPUT ${NECTOR_DOC_DIR}/changelog.Debian.gz
    COMMAND ${GZIP} -9nfk ${NECTOR_DOC_DIR}/changelog.Debian
    DEPENDS ${NECTOR_DOC_DIR}/changelog.Debian VERBATIM)
add_custom_command(OUTPUT ${NECTOR_DOC_DIR}/changelog.gz
    COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/CHANGELOG.md ${NECTOR_DOC_DIR}/changelog
    COMMAND ${GZIP} -9nf ${NECTOR_DOC_DIR}/changelog
    DEPENDS ${PROJECT_SOURCE_DIR}/CHANGELOG.md VERBATIM)
set(package_docs ${NECTOR_DOC_DIR}/changelog.Debian.gz ${NECTOR_DOC_DIR}/changelog.gz)

# The man page, from the command line's own --help and --version.
if(NECTOR_BUILD_CLI)
    find_program(HELP2MAN help2man)
    if(HELP2MAN)
        add_custom_command(OUTPUT ${NECTOR_DOC_DIR}/nector.1.gz
            COMMAND ${HELP2MAN} --no-info --no-discard-stderr
                    --name "HTTP requests from the command line, on the nector transport"
                    --output ${NECTOR_DOC_DIR}/nector.1 $<TARGET_FILE:nector-cli>
            COMMAND ${GZIP} -9nf ${NECTOR_DOC_DIR}/nector.1
            DEPENDS nector-cli VERBATIM)
        list(APPEND package_docs ${NECTOR_DOC_DIR}/nector.1.gz)
        install(FILES ${NECTOR_DOC_DIR}/nector.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
    else()
        message(STATUS "help2man not found: the package will have no man page")
    endif()
endif()
add_custom_target(nector-package-docs ALL DEPENDS ${package_docs})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright ${NECTOR_DOC_DIR}/changelog.Debian.gz
              ${NECTOR_DOC_DIR}/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/nector)

set(CPACK_PACKAGE_NAME nector)
set(CPACK_PACKAGE_VENDOR "the nector authors")
set(CPACK_PACKAGE_CONTACT "nector maintainers <nector@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "asynchronous HTTP client transport for C++20")
set(CPACK_PACKAGE_DESCRIPTION
    "nector is the pynector HTTP transport built natively for C++20 on Asio
coroutines: pluggable message types, typed errors, HTTP/1.1 and HTTP/2 over
TLS, retries with budgets, circuit breakers, deadlines, streaming and content
decoding, proxies, auth and cookies. This package holds the static library, its
headers, the CMake package (find_package(nector)), the pkg-config file, the
nector::testing test servers and the nector command-line client.")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The binary's run-time libraries (dpkg-shlibdeps), and what a program built against the
# static library and headers needs: Debian's development packages of nector's dependencies.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libboost1.81-dev, libboost-json1.81-dev, libboost-url1.81-dev, libssl-dev, libnghttp2-dev, zlib1g-dev, libbrotli-dev, libzstd-dev, pkg-config")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
include(CPack)
