"""Writes the generated toy ADE20K-layout dataset (see mmseg_beit.datasets.toy_ade20k)."""

import argparse

from mmseg_beit.datasets import make_toy_ade20k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", nargs="?", default="data/toy_ade20k", help="output folder")
    parser.add_argument("--num-train", type=int, default=96)
    parser.add_argument("--num-val", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = make_toy_ade20k(args.root, args.num_train, args.num_val, args.seed)
    print(f"toy dataset: {args.num_train} training and {args.num_val} validation pairs in {root}")


if __name__ == "__main__":
    main()
