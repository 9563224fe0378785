# cmake --install: headers, the library, a CMake package (find_package(ghtier)) and a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS ghtier EXPORT ghtierTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/ghtier DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ghtierTargets NAMESPACE ghtier:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ghtier)

configure_package_config_file(cmake/ghtierConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ghtierConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ghtier)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ghtierConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ghtierConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/ghtierConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ghtier)

set(GHTIER_CUDART_LIBDIR "${CUDAToolkit_LIBRARY_DIR}")
list(GET CUDAToolkit_INCLUDE_DIRS 0 GHTIER_CUDA_INCLUDEDIR)
configure_file(cmake/ghtier.pc.in ${CMAKE_CURRENT_BINARY_DIR}/ghtier.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ghtier.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
