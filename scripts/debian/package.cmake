# The Debian package: `cpack -G DEB` in a build tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr makes cairn_<version>_<arch>.deb from the
# install rules. Depends come from dpkg-shlibdeps; the maintainer scripts
# beside this file make the cairn user and /var/lib/cairn (README.md,
# "Installing as a service").
set(CAIRN_DEBIAN_DIR ${CMAKE_CURRENT_LIST_DIR})

# The changelog's latest entry must be this version: lintian and apt read it.
file(STRINGS ${CAIRN_DEBIAN_DIR}/changelog CAIRN_CHANGELOG_TOP LIMIT_COUNT 1)
if(NOT CAIRN_CHANGELOG_TOP MATCHES "^cairn \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "scripts/debian/changelog: its first entry is not version ${PROJECT_VERSION}")
endif()
execute_process(COMMAND gzip -9nc INPUT_FILE ${CAIRN_DEBIAN_DIR}/changelog
                OUTPUT_FILE ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz RESULT_VARIABLE CAIRN_GZIP_RC)
if(NOT CAIRN_GZIP_RC EQUAL 0)
  message(FATAL_ERROR "gzip failed on scripts/debian/changelog")
endif()
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz ${CAIRN_DEBIAN_DIR}/copyright
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/cairn)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cairn)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "cairn developers <dev@cairn.example>")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION education)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "student milestones and the evidence behind them, offline first
cairn records evidence of student progress toward milestones on classroom
machines that often have no network. cairnd keeps every edit as a signed,
hash-chained entry in an append-only log and syncs classrooms to a campus
hub and the district's central; the cairn command and a web page served by
cairnd record and show progress.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CAIRN_DEBIAN_DIR}/postinst ${CAIRN_DEBIAN_DIR}/prerm ${CAIRN_DEBIAN_DIR}/postrm
    ${CAIRN_DEBIAN_DIR}/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
