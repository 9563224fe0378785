# The PyTorch allocator slots' tests (include/ghtier/ghtier_torch.h), included by this folder's CMakeLists.txt.
ghtier_add_test(torch_allocator_test SOURCES torch_allocator_test.cpp)
ghtier_add_test(torch_allocator_gpu_test SOURCES torch_allocator_gpu_test.cpp GPU)
