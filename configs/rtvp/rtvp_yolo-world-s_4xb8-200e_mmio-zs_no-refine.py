# Table 5 ablation "-Refined Visual Prompt": no uncertainty scorer, no
# sparse selection and no CIoU auxiliary head; the coarse (reconstructed)
# prompts are injected as they are.
_base_ = './rtvp_yolo-world-s_4xb8-200e_mmio-zs.py'

model = dict(prompt_refiner=None, aux_head=None)
