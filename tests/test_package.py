import metakit
from metakit.errors import DataError


def test_version_is_a_string():
    assert isinstance(metakit.__version__, str)


def test_data_error_names_study_column_and_rule():
    err = DataError("SD must be > 0", study="Sen 2012", column="sd_t")
    assert str(err) == "study 'Sen 2012', column 'sd_t': SD must be > 0"
