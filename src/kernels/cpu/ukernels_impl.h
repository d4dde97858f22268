// Fills a UKernels table with the instantiations of the kernel templates for one vector type.
// Included only by the ukernels_<isa>.cc files, each compiled with its ISA's flags.
#pragma once

#include "kernels/cpu/attention_impl.h"
#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/eltwise_impl.h"
#include "kernels/cpu/gemm_impl.h"
#include "kernels/cpu/sparse_gemm.h"
#include "kernels/cpu/ukernels.h"
#include "kernels/cpu/window_impl.h"
#include "kernels/cpu/winograd_impl.h"

namespace edgeai::kernels::cpu {

// conv_direct and sparse_gemm are compiled in their own files (conv_direct_<isa>.cc,
// sparse_gemm_<isa>.cc); the table names the ones of its ISA.
template <class V, int kMR, int kNV>
UKernels make_ukernels(const char* name, void (*conv_direct)(const ConvDirectArgs&),
                       void (*sparse_gemm)(const SparseGemmArgs&)) {
  using G = GemmImpl<V, kMR, kNV>;
  using W = WindowImpl<V>;
  using E = EltwiseImpl<V>;
  UKernels k{};
  k.name = name;
  k.lanes = V::kLanes;
  k.mr = kMR;
  k.nr = G::kNR;
  k.gemm_block = &G::gemm_block;
  k.pack_a = &G::pack_a;
  k.pack_b = &G::pack_b;
  k.pack_b_im2col = &G::pack_b_im2col;
  k.dwconv = &W::dwconv;
  k.dwconv_scratch_floats = &W::dw_scratch_floats;
  k.dwconv_block_channels = &W::dw_block_channels;
  k.dwconv_pw_tile = &W::pw_tile_size;
  k.dwconv_in_place = &W::dw_in_place;
  k.pool2d = &W::pool2d;
  k.pool_scratch_floats = &W::pool_scratch_floats;
  k.winograd_input = &WinogradImpl<V, G::kNR>::input;
  k.winograd_output = &WinogradImpl<V, G::kNR>::output;
  k.phase_planes = &W::phase_planes;
  k.phase_plane_rows = &W::phase_plane_rows;
  k.phase_geometry = &W::phase_geometry;
  k.phase_tap_offsets = &W::phase_tap_offsets;
  k.activation = &E::activation;
  k.bias_activation = &E::bias_activation;
  k.scale_bias_activation = &E::scale_bias_activation;
  k.binary = &E::binary;
  k.erf = &E::erf;
  k.exp = &E::exp;
  k.blend_rows = &E::blend_rows;
  k.softmax = &E::softmax;
  k.layer_norm = &E::layer_norm;
  k.global_avg = &E::global_avg;
  k.conv_direct = conv_direct;
  k.sparse_gemm = sparse_gemm;
  k.attention = &AttentionImpl<V>::attention;
  return k;
}

}  // namespace edgeai::kernels::cpu
