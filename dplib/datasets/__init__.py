"""Data: from the files of the Million Song Dataset (or the synthetic mini-MSD) to model-ready pair batches.

The modules in data-flow order; a lyrics pair goes down this list from a JSON file to a ``tf.data`` batch:

1. Files on disk. :mod:`.synthetic` writes a mini-MSD in the real formats (notebook 01); :mod:`.download` and
   :mod:`.real_lyrics` fetch the public files and the authors' lyrics (notebooks 01 and 06).
2. Loaders, one per format, each counting what it skips (:mod:`.report`): :mod:`.lastfm` (similarity JSON and
   SQLite), :mod:`.musixmatch` (bag of words), :mod:`.lyrics` (ordered text, vocabulary, encoding), :mod:`.audio`
   (WAV clips and |FFT| blocks, notebook 02), :mod:`.msd_h5` (Echo Nest segment features).
3. :mod:`.corpus` finds the files in a data folder by their official names and loads them into one ``Corpus``.
4. :mod:`.pairs` turns the scored listings into a labelled pool, the parts of a pair or song split (``PairParts``),
   balanced classes and flipped copies (notebooks 03 and 04); :mod:`.prepare` adds the training-song vocabulary
   and the encoded songs.
5. :mod:`.pipeline` serves ``((song_a, song_b), label)`` batches from prepared data (notebook 03).

For corpora that do not fit in memory, :mod:`.streaming` does steps 3-4 as passes over files and
:mod:`.tfrecords` writes and reads the shards. :mod:`.files` writes every output completely or not at all;
:mod:`.check` measures how hard a synthetic data set came out.

Words used with one meaning everywhere in ``dplib``, its notebooks and its command line:

=================  ============================================================================================
``kind``           the modality a model reads: ``lyrics``, ``audio`` (or ``joint``, both)
``split``          how pairs are divided: ``pair`` (random over pairs; songs recur across parts) or ``song``
                   (song-disjoint; on real data, lyric groups kept whole)
``holdout``        a split, or ``pair_matched`` (the pair split with its training part cut to the song
                   split's size), or one fold of the real set's song folds (``folds3_fold0``): what a results
                   folder is named after
``part``           ``train``, ``val`` or ``test`` (a split's three: ``PairParts``, ``data.parts``)
``listing``        one entry of a Last.fm similar list: a track, a track it names, a score (``ScoredPairs``); a
                   pair listed by both its tracks has two listings
``pairs``          unordered pairs of two songs (a ``Pairs`` holds pairs, or rows once flipped)
``rows``           what a model reads: each pair twice, in both orders, side by side (``data.rows(part)``); a
                   record's ``pairs_per_second`` and the bench's pairs/s count these ordered pairs
``per class``      a cap on similar and on not-similar pairs alike (``pairs_per_class``)
``lyric group``    tracks whose lyrics are the same text (other releases, covers): one song for splitting
``source track``   the track whose Last.fm list named a pair: what intervals resample
``query track``    the song a playlist is made for (``query_track`` in code, "the query song" in prose)
``seed``           a random seed, nothing else
``run``            one trained model with its record: ``model.keras``, ``vocabulary.json``, ``metrics.json``
``bands``          an audio input: ``None`` the paper's |FFT| bins, or a key of ``audio.BANDS`` (``mel64``, ``bands128``)
``corpus name``    which corpus a run's pairs come from: ``""`` the synthetic tables (or your data folder),
                   ``real-lyrics`` or one of its controls (``real-lyrics-fp-track``, ``real-lyrics-fp-group``)
``results name``   the results folder of a kind, corpus name and bands: ``lyrics``, ``audio-mel64``, ``real-lyrics``
                   (saved records keep it under their old key, ``dataset``, and the holdout under ``split``)
``dataset``        a ``tf.data.Dataset`` (``data.dataset(part)``; ``dplib.datasets`` is this package), nothing else
``folder``         a directory: path attributes end in ``_folder`` (``cfg.results_folder``, ``cfg.data_folder``);
                   ``root`` is the top of one (the checkout, a data folder), ``*_root`` a ``DPLIB_*`` variable's
=================  ============================================================================================
"""
